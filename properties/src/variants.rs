//! The catalogue of deliberately broken protocol variants: each switches on one [`Flaw`] inside
//! the real transition code and names the property that must catch it, with the configuration the
//! flaw needs to show (a duplicating network for a non-idempotent CA, centre key generation for a
//! plaintext key, MVNO subscribers for the MVNO bypass).
//!
//! A variant that stops being caught means a property went blind; tests keep every one caught.

use jpkisim_model::config::{Budgets, Carrier, Config, Flaw, KeyGen, Thief};

/// One broken variant.
#[derive(Clone, Copy, Debug)]
pub struct Variant {
    /// The flaw switched on.
    pub flaw: Flaw,
    /// Stable id (the flaw's snake_case name).
    pub id: &'static str,
    /// What is broken.
    pub description: &'static str,
    /// The property that must catch it.
    pub violates: &'static str,
    /// Changes to a base configuration that the flaw needs in order to show.
    pub needs: fn(Config) -> Config,
    /// The changes besides one person, as CLI flags.
    pub needs_flags: &'static str,
}

impl Variant {
    /// Every change the variant makes to the default configuration, as CLI flags.
    pub fn flags(&self) -> String {
        format!("--persons 1 {}", self.needs_flags)
            .trim_end()
            .to_string()
    }

    /// The configuration to check this variant in, starting from `base`: the smallest one that
    /// shows the flaw. Every flaw here shows with one person, and one person keeps
    /// `check --variant` to seconds (two persons square the state space; `--persons 2` overrides).
    pub fn config(&self, base: Config) -> Config {
        let mut cfg = (self.needs)(Config { persons: 1, ..base });
        cfg.flaws = cfg.flaws.with(self.flaw);
        cfg
    }
}

fn as_is(c: Config) -> Config {
    c
}

/// Replays multiply the state space; two counted events (one application and one more) are
/// enough for a replayed issue request to issue twice.
fn duplicating(mut c: Config) -> Config {
    c.network.duplicating = true;
    c.budgets.events = c.budgets.events.min(2);
    c
}

fn center(c: Config) -> Config {
    Config {
        keygen: KeyGen::Center,
        ..c
    }
}

fn mvno(c: Config) -> Config {
    Config {
        carrier: Carrier::Mvno,
        ..c
    }
}

/// The network intruder, which forges and replays what the flaw lets through.
fn intruder(c: Config) -> Config {
    Config {
        intruder: true,
        ..c
    }
}

/// A thief who saw the PIN typed, so that a stolen phone can log in.
fn knows_pin(c: Config) -> Config {
    Config {
        thief: Thief::KnowsPin,
        ..c
    }
}

/// Three wrong PINs and a right one after an issuance: five counted events. The budgets that
/// have nothing to do with PINs are switched off to keep the check quick.
fn four_wrong_pins(c: Config) -> Config {
    Config {
        budgets: Budgets {
            pin_entries: c.budgets.pin_entries.max(4),
            events: c.budgets.events.max(5),
            card_events: 0,
            sim_events: 0,
            device_events: 0,
            ..c.budgets
        },
        ..c
    }
}

/// A network that loses messages, and one counted event (an application, or a SIM leaving
/// service): recovery's counterexamples need nothing more.
fn lossy_one_event(mut c: Config) -> Config {
    c.network.lossy = true;
    c.budgets.events = 1;
    c
}

/// One party may crash (and restart) at a time, and one counted event.
fn one_crash_one_event(mut c: Config) -> Config {
    c.crashes = 1;
    c.budgets.events = 1;
    c
}

/// A crash and a lost answer: a retry reaches a CA that restarted.
fn lossy_crash_one_event(mut c: Config) -> Config {
    c.network.lossy = true;
    one_crash_one_event(c)
}

/// Every variant, in catalogue order.
pub const ALL: &[Variant] = &[
    Variant {
        flaw: Flaw::SkipIssuedCheck,
        id: "skip_issued_check",
        description:
            "SP-TSM does not supersede the person's existing certificate on a new issuance",
        violates: "no_double_issuance",
        needs: as_is,
        needs_flags: "",
    },
    Variant {
        flaw: Flaw::NonIdempotentIssue,
        id: "non_idempotent_issue",
        description: "a duplicated or retried issue request issues again",
        violates: "no_double_issuance",
        needs: duplicating,
        needs_flags: "--duplicating --events 2",
    },
    Variant {
        flaw: Flaw::RpSkipsStatusCheck,
        id: "rp_skips_status_check",
        description: "relying party accepts whatever the status answer says",
        violates: "revoked_never_accepted",
        needs: as_is,
        needs_flags: "",
    },
    Variant {
        flaw: Flaw::SuspendIgnored,
        id: "suspend_ignored",
        description: "status check treats suspended as valid",
        violates: "suspended_never_accepted",
        needs: as_is,
        needs_flags: "",
    },
    Variant {
        flaw: Flaw::UnboundSeInApplication,
        id: "unbound_se_in_application",
        description: "the designated SE is not covered by the card signature",
        violates: "key_only_in_designated_se",
        needs: as_is,
        needs_flags: "",
    },
    Variant {
        flaw: Flaw::NoCardRevocationCascade,
        id: "no_card_revocation_cascade",
        description: "CA does not revoke linked phone certificates",
        violates: "card_revocation_cascades",
        needs: as_is,
        needs_flags: "",
    },
    Variant {
        flaw: Flaw::NoRetryCounter,
        id: "no_retry_counter",
        description: "applet does not count wrong PINs",
        violates: "pin_lockout",
        needs: four_wrong_pins,
        needs_flags: "--pin-entries 4 --events 5 --card-events 0 --sim-events 0 --device-events 0",
    },
    Variant {
        flaw: Flaw::AcceptRevokedCard,
        id: "accept_revoked_card",
        description: "the issuing side skips the card certificate status check",
        violates: "issuance_requires_valid_card_application",
        needs: as_is,
        needs_flags: "",
    },
    Variant {
        flaw: Flaw::CenterKeyPlaintext,
        id: "center_key_plaintext",
        description: "centre-generated key delivered without encryption",
        violates: "center_key_only_encrypted",
        needs: center,
        needs_flags: "--keygen center",
    },
    Variant {
        flaw: Flaw::SerialReuse,
        id: "serial_reuse",
        description: "CA reuses a serial",
        violates: "distinct_serials",
        needs: as_is,
        needs_flags: "",
    },
    Variant {
        flaw: Flaw::NoWipeOnBoot,
        id: "no_wipe_on_boot",
        description: "old SE keeps its key after learning of revocation",
        violates: "old_se_wiped_after_boot",
        needs: as_is,
        needs_flags: "",
    },
    Variant {
        flaw: Flaw::MvnoBypassesHostTsm,
        id: "mvno_bypasses_host_tsm",
        description: "MVNO path installs the applet without the host MNO's authorisation",
        violates: "applet_only_via_authorised_tsm",
        needs: mvno,
        needs_flags: "--carrier mvno",
    },
    Variant {
        flaw: Flaw::NoRevokeOnCarrierSwitch,
        id: "no_revoke_on_carrier_switch",
        description: "switching carrier or disposing of a SIM leaves its certificate valid",
        violates: "disposed_se_never_accepted",
        needs: as_is,
        needs_flags: "",
    },
    Variant {
        flaw: Flaw::SeKeyEscrow,
        id: "se_key_escrow",
        description: "the applet sends its freshly generated private key to J-LIS for safekeeping",
        violates: "private_key_never_leaves_se",
        needs: as_is,
        needs_flags: "",
    },
    Variant {
        flaw: Flaw::UncheckedPhoneRevocation,
        id: "unchecked_phone_revocation",
        description: "the CA revokes on a request from a phone without checking its signature",
        violates: "phone_revocation_authentic",
        needs: intruder,
        needs_flags: "--intruder",
    },
    Variant {
        flaw: Flaw::RpIgnoresOcspNonce,
        id: "rp_ignores_ocsp_nonce",
        description: "the relying party accepts an OCSP answer made for another request",
        violates: "status_evidence_fresh",
        needs: intruder,
        needs_flags: "--intruder",
    },
    Variant {
        flaw: Flaw::ReportSuspendsOnlyCurrent,
        id: "report_suspends_only_current",
        description:
            "a loss report does not stop an issuance to the stolen phone already in flight",
        violates: "stolen_se_unusable_after_report",
        needs: knows_pin,
        needs_flags: "--thief knows-pin",
    },
    Variant {
        flaw: Flaw::TimerNeverAborts,
        id: "timer_never_aborts",
        description: "the SP-TSM's timer stops after its retries and the session waits for good",
        violates: "issuance_settles",
        needs: lossy_one_event,
        needs_flags: "--lossy --events 1",
    },
    Variant {
        flaw: Flaw::SpTsmAnswersBeforePersisting,
        id: "sp_tsm_answers_before_persisting",
        description: "the SP-TSM sends a step's request before making the step durable",
        violates: "no_se_half_personalised",
        needs: one_crash_one_event,
        needs_flags: "--crashes 1 --events 1",
    },
    Variant {
        flaw: Flaw::AbortKeepsCertificate,
        id: "abort_keeps_certificate",
        description: "the CA aborts an application but leaves the certificate it issued valid",
        violates: "issued_certificates_accounted",
        needs: lossy_one_event,
        needs_flags: "--lossy --events 1",
    },
    Variant {
        flaw: Flaw::SeTsmNeverRetries,
        id: "se_tsm_never_retries",
        description: "the SE issuer's TSM never re-sends a lost revocation request",
        violates: "retirement_settles",
        needs: lossy_one_event,
        needs_flags: "--lossy --events 1",
    },
    Variant {
        flaw: Flaw::CaIndexNotDurable,
        id: "ca_index_not_durable",
        description: "the CA's already-issued check reads an in-memory index a crash empties",
        violates: "one_certificate_per_application",
        needs: lossy_crash_one_event,
        needs_flags: "--lossy --crashes 1 --events 1",
    },
];

/// The variant with this id.
pub fn by_id(id: &str) -> Option<&'static Variant> {
    ALL.iter().find(|v| v.id == id)
}
