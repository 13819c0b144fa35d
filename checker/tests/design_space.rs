//! `docs/design-space.md` embeds the output of `jpkisim matrix`. The whole matrix takes minutes
//! (`jpkisim matrix --check-doc docs/design-space.md` compares all of it); this test checks what is
//! cheap on every run — the header is the current catalogue, one row per design in command order,
//! the pruned list — and re-checks three designs from scratch, whose rows and failure lines must be
//! byte-identical to the doc's.

use jpkisim_checker::matrix::{self, Bounds, Design, MatrixOptions, PRUNED};
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
    };
    let mvno_center_mail = Design {
        medium: Medium::Uicc,
        carrier: Carrier::Mvno,
        keygen: KeyGen::Center,
        revocation: RevocationCheck::Ocsp,
        device_change: DeviceChange::NewPhoneOnly,
        proofing: Proofing::Mail,
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
}
