//! `docs/design-space.md` embeds the output of `jpkisim matrix`. The whole matrix takes minutes
//! (`jpkisim matrix --check-doc docs/design-space.md` compares all of it); this test checks what is
//! cheap on every run — the header is the current catalogue, one row per design in command order,
//! the pruned list — and re-checks three designs from scratch, whose rows and failure lines must be
//! byte-identical to the doc's.

use jpkisim_checker::matrix::{self, Bounds, Design, MatrixOptions, Persistence, PRUNED};
use jpkisim_model::config::{Carrier, DeviceChange, KeyGen, Medium, Proofing, RevocationCheck};

fn block() -> String {
    let path = format!("{}/../docs/design-space.md", env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    matrix::doc_block(&doc)
        .unwrap_or_else(|| panic!("{path}: no generated block between the matrix markers"))
        .to_string()
}

#[test]
fn the_doc_table_has_the_current_columns_and_one_row_per_design_in_order() {
    let block = block();
    assert!(
        block.contains(&matrix::markdown_header()),
        "docs/design-space.md: the table's columns are not the current catalogue; regenerate with `jpkisim matrix`"
    );
    let rows: Vec<&str> = block
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| design "))
        .collect();
    let designs = Design::all();
    assert_eq!(
        rows.len(),
        designs.len(),
        "docs/design-space.md: the table has {} rows, the matrix {} designs",
        rows.len(),
        designs.len()
    );
    for (line, d) in rows.iter().zip(&designs) {
        assert!(
            line.starts_with(&format!("| {} | ", d.label())),
            "docs/design-space.md: expected the row of '{}', found {line}",
            d.label()
        );
    }
    for p in PRUNED {
        assert!(
            block.contains(&format!("- `{}`: {}.", p.combination, p.reason)),
            "docs/design-space.md: pruned combination {} is missing or stale",
            p.combination
        );
    }
}

#[test]
fn three_designs_rechecked_from_scratch_match_the_doc() {
    let block = block();
    let default = Design::all()[0];
    let gp_se_old_phone_mail = Design {
        medium: Medium::GpSe,
        carrier: Carrier::Mno,
        keygen: KeyGen::OnSe,
        revocation: RevocationCheck::Ocsp,
        device_change: DeviceChange::NeedsOldPhone,
        proofing: Proofing::Mail,
        persistence: Persistence::CommitFirst,
    };
    let mvno_center_mail = Design {
        medium: Medium::Uicc,
        carrier: Carrier::Mvno,
        keygen: KeyGen::Center,
        revocation: RevocationCheck::Ocsp,
        device_change: DeviceChange::NewPhoneOnly,
        proofing: Proofing::Mail,
        persistence: Persistence::CommitFirst,
    };
    let rows = matrix::run_designs(
        &[default, gp_se_old_phone_mail, mvno_center_mail],
        MatrixOptions {
            bounds: Bounds::default(),
            jobs: 2,
            progress: false,
        },
    )
    .expect("the designs check");
    for row in &rows {
        let line = matrix::markdown_row(row);
        assert!(
            block.contains(&line),
            "docs/design-space.md: the row of '{}' differs from a fresh check:\n{line}",
            row.label
        );
        let failures = matrix::markdown_failures(row);
        assert!(
            block.contains(&failures),
            "docs/design-space.md: the failing cells of '{}' differ from a fresh check:\n{failures}",
            row.label
        );
    }
    // The rows exercise what the test claims to cover: a violated cell with its length, an
    // unreached reachability property, and cells that do not apply.
    assert!(rows[0].cells.iter().all(|c| !c.fails()));
    assert!(rows[1]
        .cells
        .iter()
        .any(|c| matches!(c, matrix::Cell::Violated { .. })));
    assert!(rows[1].cells.contains(&matrix::Cell::Unwitnessed));
    assert!(rows[2].cells.contains(&matrix::Cell::NotApplicable));
    // Every row is checked with a crash, so the recovery properties apply and hold.
    let half = jpkisim_properties::catalogue::ALL
        .iter()
        .position(|p| p.id == "no_se_half_personalised")
        .expect("the catalogue has no_se_half_personalised");
    assert!(rows.iter().all(|r| r.cells[half] == matrix::Cell::Holds));
}

/// The answer-first rows take minutes each (docs/design-space.md), too long to re-check here;
/// `--check-doc` re-checks them. What this test holds the doc to: the rows are there, each opens
/// with the flaw's flag, and each shows the SE left half-personalised that its commit-first
/// twin does not.
#[test]
fn the_doc_shows_what_answering_before_persisting_breaks() {
    let block = block();
    let half = jpkisim_properties::catalogue::ALL
        .iter()
        .position(|p| p.id == "no_se_half_personalised")
        .expect("the catalogue has no_se_half_personalised");
    let cell = |label: &str| -> String {
        let line = block
            .lines()
            .find(|l| l.starts_with(&format!("| {label} | ")))
            .unwrap_or_else(|| panic!("docs/design-space.md: no row '{label}'"));
        // "| label | states | cell0 | …" split on " | ": property i is field i + 2.
        line.split(" | ")
            .nth(half + 2)
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    let answer_first: Vec<Design> = Design::all()
        .into_iter()
        .filter(|d| d.persistence == Persistence::AnswerFirst)
        .collect();
    assert_eq!(answer_first.len(), 3);
    for d in answer_first {
        let twin = Design {
            persistence: Persistence::CommitFirst,
            ..d
        };
        assert!(
            cell(&d.label()).starts_with("**✗ "),
            "docs/design-space.md: '{}' should violate no_se_half_personalised",
            d.label()
        );
        assert_eq!(cell(&twin.label()), "✓", "{}", twin.label());
        assert!(block.contains(&format!(
            "`jpkisim explore --persons 1 --crashes 1 {}`",
            d.flags()
        )));
    }
}
