//! The SE-TSM's and the MVNO's transitions: installation on the active SE, SIM porting, the host TSM route.

mod common;
use common::*;

#[test]
fn se_tsm_installs_only_on_the_persons_active_se() {
    let cfg = Config::default();
    let c = ctx(&cfg);
    let t0 = se_tsm::init(&c);
    assert_eq!(t0.service[..2], [Service::Active, Service::Spare]);
    let ok = se_tsm::on_msg(
        &c,
        &t0,
        Party::SpTsm,
        &Msg::InstallApplet {
            person: P0,
            se: SE0,
            app: AppNo(0),
        },
    );
    assert_eq!(ok.out.0, vec![(Party::Se(SE0), install(P0, 0))]);
    for (person, se) in [(P1, SE0), (P0, SE1)] {
        let no = se_tsm::on_msg(
            &c,
            &t0,
            Party::SpTsm,
            &Msg::InstallApplet {
                person,
                se,
                app: AppNo(0),
            },
        );
        assert_eq!(
            no.out.0,
            vec![(
                Party::SpTsm,
                Msg::InstallRefused {
                    person,
                    app: AppNo(0)
                }
            )]
        );
    }
}

#[test]
fn se_tsm_ports_a_sim_only_after_jlis_revoked_it() {
    let cfg = Config::default();
    let c = ctx(&cfg);
    let t0 = se_tsm::init(&c);
    let why = Retirement::PortedHandedBack;
    let s1 = se_tsm::on_msg(
        &c,
        &t0,
        Party::Applicant(P0),
        &Msg::RetireSim {
            se: SE0,
            replacement: Some(SE1),
            why,
        },
    );
    assert_eq!(
        s1.state.service[..2],
        [Service::Retiring(why), Service::Active]
    );
    assert_eq!(s1.out.0, vec![(Party::Ca, Msg::RevokeForSe { se: SE0 })]);
    let s2 = se_tsm::on_msg(&c, &s1.state, Party::Ca, &Msg::SeRevoked { se: SE0 });
    assert_eq!(s2.state.service[0], Service::Retired(why));
    assert_eq!(
        s2.out.0,
        vec![
            (Party::Applicant(P0), Msg::SimRetired { se: SE0 }),
            (Party::Se(SE0), Msg::LockApplet)
        ]
    );
    let flawed = Config {
        flaws: cfg.flaws.with(Flaw::NoRevokeOnCarrierSwitch),
        ..cfg
    };
    let f = se_tsm::on_msg(
        &ctx(&flawed),
        &t0,
        Party::Applicant(P0),
        &Msg::RetireSim {
            se: SE0,
            replacement: None,
            why: Retirement::Disposed,
        },
    );
    assert_eq!(
        f.out.0,
        vec![(Party::Applicant(P0), Msg::SimRetired { se: SE0 })]
    );
}

#[test]
fn mvno_asks_the_host_tsm_unless_flawed() {
    let cfg = Config {
        carrier: Carrier::Mvno,
        ..Config::default()
    };
    let req = Msg::InstallApplet {
        person: P0,
        se: SE0,
        app: AppNo(0),
    };
    let honest = mvno::on_msg(&ctx(&cfg), &(), Party::SpTsm, &req);
    assert_eq!(
        honest.out.0,
        vec![(
            Party::SeTsm,
            Msg::AuthoriseInstall {
                person: P0,
                se: SE0,
                app: AppNo(0)
            }
        )]
    );
    let flawed = Config {
        flaws: cfg.flaws.with(Flaw::MvnoBypassesHostTsm),
        ..cfg
    };
    let bypass = mvno::on_msg(&ctx(&flawed), &(), Party::SpTsm, &req);
    assert_eq!(bypass.out.0, vec![(Party::Se(SE0), install(P0, 0))]);
}

/// A SIM is retired only once the CA confirms its certificates are revoked: the same
/// confirmation claiming any other sender leaves it retiring.
#[test]
fn only_the_cas_confirmation_retires_a_sim() {
    let cfg = Config::default();
    let c = ctx(&cfg);
    let t0 = se_tsm::init(&c);
    let retiring = se_tsm::on_msg(
        &c,
        &t0,
        Party::Applicant(P0),
        &Msg::RetireSim {
            se: SE0,
            replacement: None,
            why: Retirement::Disposed,
        },
    );
    assert_eq!(
        retiring.out.0,
        vec![(Party::Ca, Msg::RevokeForSe { se: SE0 })]
    );
    assert_eq!(
        retiring.state.service[0],
        Service::Retiring(Retirement::Disposed)
    );
    for claimed in [Party::SpTsm, Party::Se(SE0), Party::Applicant(P0)] {
        let s = se_tsm::on_msg(&c, &retiring.state, claimed, &Msg::SeRevoked { se: SE0 });
        assert_eq!(s.state, retiring.state, "{claimed:?}");
        assert!(s.out.0.is_empty(), "{claimed:?}");
    }
    let done = se_tsm::on_msg(&c, &retiring.state, Party::Ca, &Msg::SeRevoked { se: SE0 });
    assert_eq!(
        done.state.service[0],
        Service::Retired(Retirement::Disposed)
    );
}
