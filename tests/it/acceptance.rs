//! The acceptance check as a user does it, from the README and `sandbox plan`
//! alone: `serve` stands in for a sandbox on which the plan was carried out, set up only
//! from the files `sandbox plan` writes (`--format profiles`, `members`, `env`), and a run
//! in that folder, with nothing else set, passes its preflight, says what it will take
//! before it starts and passes. With broken settings, every problem is listed at once.

use crate::cli::{Running, Scratch, Served, cw_conform, cw_conform_finished};

#[test]
fn serve_stands_in_for_a_sandbox_from_the_files_sandbox_plan_writes_and_broken_settings_are_listed_at_once()
 {
    let scratch = Scratch::new("it");
    for (format, file) in [
        ("profiles", "sandbox-profiles.toml"),
        ("members", "members.toml"),
    ] {
        cw_conform_finished(
            &scratch,
            &["sandbox", "plan", "--format", format, "--output", file],
        )
        .assert_code(0);
    }
    let served = Served::start(&scratch, &["--members", "members.toml"]);
    cw_conform_finished(
        &scratch,
        &[
            "sandbox",
            "plan",
            "--format",
            "env",
            "--site",
            &served.site,
            "--output",
            ".env",
        ],
    )
    .assert_code(0);

    let run = Running::start(cw_conform(
        &scratch,
        &["run", "--tags", "@CL-01", "--allow-writes"],
    ))
    // The preflight alone sends three requests for each of the plan's ~100 profiles at
    // ConnectWise's 300 a minute: over a minute. The bound only guards against a hang.
    .finish_within(std::time::Duration::from_secs(600));

    run.assert_code(0);
    let verified = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("  profile ") && l.contains("role verified"))
        .count();
    let members = scratch.read("members.toml").matches("[[member]]").count();
    assert_eq!(
        verified, members,
        "every member of the members file is a verified profile: {run}"
    );
    let preflight = format!(
        "preflight: checking {members} profiles on {}: about {} requests at ",
        served.site,
        cw_conform::harness::sandbox::PREFLIGHT_REQUESTS_PER_PROFILE * members as u64
            + cw_conform::harness::documented::PROBE_REQUESTS
    );
    let announced = run
        .stderr
        .find(&preflight)
        .unwrap_or_else(|| panic!("the run did not say what its preflight takes: {run}"));
    let banner = run
        .stderr
        .find("target: ConnectWise sandbox")
        .expect("a banner");
    assert!(
        announced < banner,
        "the preflight was announced only after it ran: {run}"
    );
    assert!(run.stderr.contains("estimate: "), "{run}");
    assert!(
        run.stderr
            .contains("the run's ledger shows nothing left behind"),
        "{run}"
    );

    // Broken settings: a key variable not set, a wrong private key, a profile whose keys
    // are another member's (whose role differs): all three at once, exit 2.
    let env = scratch.read(".env");
    let broken: String = env
        .lines()
        .filter(|l| !l.starts_with("CW_NO_ACCESS_PRIVATE_KEY="))
        .map(|l| match l.split_once('=') {
            Some(("CW_CUSTOMER_SYNC_PRIVATE_KEY", _)) => {
                "CW_CUSTOMER_SYNC_PRIVATE_KEY=not-its-key".to_owned()
            }
            Some((name @ "CW_FULL_ACCESS_PUBLIC_KEY", _)) => {
                format!("{name}=read-only-discovery-public")
            }
            Some((name @ "CW_FULL_ACCESS_PRIVATE_KEY", _)) => {
                format!("{name}=read-only-discovery-private")
            }
            _ => l.to_owned(),
        })
        .fold(String::new(), |mut out, l| {
            out.push_str(&l);
            out.push('\n');
            out
        });
    scratch.write(".env", &broken);

    let refused = Running::start(cw_conform(&scratch, &["run", "--tags", "@CL-01"]))
        .finish_within(std::time::Duration::from_secs(600));

    refused.assert_code(2);
    for problem in [
        "3 problems",
        "CW_NO_ACCESS_PRIVATE_KEY is not set",
        "credentials: profile \"customer-sync\": ConnectWise refused the member's keys (401)",
        "profile \"full-access\": the member cw-conform-read-only-discovery does not hold the role \"full-access\"",
    ] {
        assert!(
            refused.stderr.contains(problem),
            "not listed: {problem}: {refused}"
        );
    }
    assert!(
        !refused.stderr.contains("not-its-key"),
        "a private key was shown: {refused}"
    );
    let _ = served.stop();
}
