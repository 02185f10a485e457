//! The acceptance check as a user does it, from the README and `sandbox plan`
//! alone: `serve` stands in for a sandbox on which the plan was carried out, set up only
//! from the files `sandbox plan` writes (`--format profiles`, `members`, `env`), and a run
//! in that folder, with nothing else set, passes its preflight, says what it will take
//! before it starts and passes.

use crate::cli::{Running, Scratch, Served, cw_conform, cw_conform_finished};

#[test]
fn serve_stands_in_for_a_sandbox_from_the_files_sandbox_plan_writes() {
    let scratch = Scratch::new();
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
    .finish();

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
        2 * members
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
    let _ = served.stop();
}
