//! Builders shared by the per-party transition tests: a symbolic context, the card and phone
//! certificates and applications a test needs, an issue request answered by the CA, and a
//! personalised SE.

#![allow(dead_code)] // each test file uses a different subset
#![allow(unused_imports)]

pub(crate) use jpkisim_model::applicant::{self, Choice, Holder};
pub(crate) use jpkisim_model::ca::{self, CaState};
pub(crate) use jpkisim_model::config::{
    Carrier, Compromised, Config, Flaw, KeyGen, Medium, Role, Thief,
};
pub(crate) use jpkisim_model::crypto::{
    Certificate, Crypto, Digest, KeyDelivery, KeyName, PublicKey, Subject, Symbolic,
};
pub(crate) use jpkisim_model::ids::{
    AppNo, CardGen, Epoch, LoginId, Party, PersonId, SeId, Serial,
};
pub(crate) use jpkisim_model::msg::{
    Application, CardEventKind, CertStatus, Msg, Retirement, StatusEvidence,
};
pub(crate) use jpkisim_model::relying_party::{self, Rejection, RpState};
pub(crate) use jpkisim_model::se::{
    self, Lifecycle, PinEntry, PinOutcome, SeEffect, AUTH_PIN_TRIES,
};
pub(crate) use jpkisim_model::se_tsm::{self, Service};
pub(crate) use jpkisim_model::sp_tsm::{self, Stage};
pub(crate) use jpkisim_model::transition::Ctx;
pub(crate) use jpkisim_model::{mvno, PartyActor, PartyState};

pub(crate) const P0: PersonId = PersonId(0);
pub(crate) const P1: PersonId = PersonId(1);
pub(crate) const SE0: SeId = SeId(0);
pub(crate) const SE1: SeId = SeId(1);
pub(crate) const SE2: SeId = SeId(2);

pub(crate) fn ctx(cfg: &Config) -> Ctx<'_, Symbolic> {
    Ctx {
        cfg,
        crypto: &Symbolic,
    }
}

pub(crate) fn card_cert(ca: &CaState, p: PersonId) -> Certificate {
    ca.card_of(p)
        .map(|r| r.cert)
        .expect("every person starts with a card")
}

pub(crate) fn application(
    cfg: &Config,
    ca: &CaState,
    person: PersonId,
    se: SeId,
    app: u8,
) -> Application {
    let c = ctx(cfg);
    let card = card_cert(ca, person);
    let digest = sp_tsm::application_digest(&c, person, se, AppNo(app), card.serial);
    Application {
        person,
        se,
        app: AppNo(app),
        card_cert: card,
        sig: Symbolic.sign(card.key.0, digest),
    }
}

pub(crate) fn phone_cert(serial: u8, person: PersonId, se: SeId, app: u8) -> Certificate {
    Certificate {
        serial: Serial(serial),
        subject: Subject::Phone {
            person,
            se,
            app: AppNo(app),
        },
        key: PublicKey(KeyName::Se {
            se,
            app: AppNo(app),
        }),
    }
}

/// The CA's answer to an issue request from the SP-TSM for `person` on `se`, application `app`.
pub(crate) fn issue(
    cfg: &Config,
    ca: &CaState,
    person: PersonId,
    se: SeId,
    app: u8,
    supersedes: Option<Serial>,
) -> (CaState, Vec<(Party, Msg)>) {
    let c = ctx(cfg);
    let card = card_cert(ca, person).serial;
    let step = ca::on_msg(
        &c,
        ca,
        Party::SpTsm,
        &Msg::IssueCert {
            person,
            se,
            app: AppNo(app),
            key: PublicKey(KeyName::Se {
                se,
                app: AppNo(app),
            }),
            card,
            supersedes,
        },
    );
    (step.state, step.out.0)
}

/// An SE of person 0 with the applet installed and personalised for application 0.
pub(crate) fn personalised(cfg: &Config) -> se::SeState {
    let c = ctx(cfg);
    let s1 = se::on_msg(
        &c,
        &se::init(SE0),
        Party::SeTsm,
        &Msg::Install {
            person: P0,
            app: AppNo(0),
        },
    );
    assert!(matches!(
        s1.out.0[..],
        [(Party::SpTsm, Msg::AppletInstalled { key: Some(_), .. })]
    ));
    let s2 = se::on_msg(
        &c,
        &s1.state,
        Party::SpTsm,
        &Msg::StoreData {
            app: AppNo(0),
            cert: phone_cert(3, P0, SE0, 0),
            key: None,
        },
    );
    assert!(s2.state.usable());
    s2.state
}

/// The public key of the key pair `se` generated for application `app`.
pub(crate) fn se_key(se: SeId, app: u8) -> PublicKey {
    PublicKey(KeyName::Se {
        se,
        app: AppNo(app),
    })
}

/// The SE-TSM's installation of the applet for `person`'s application `app`.
pub(crate) fn install(person: PersonId, app: u8) -> Msg {
    Msg::Install {
        person,
        app: AppNo(app),
    }
}
