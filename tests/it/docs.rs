//! The living documentation opened in a real browser: `cw-conform docs` writes the site,
//! and Debian's `chromium`, headless, renders it at a laptop's width (1366 px). The test
//! takes a screenshot of the rule page and reads the page back as the browser built it
//! (`--dump-dom`): every rule of the catalog, the legend, no horizontal overflow, a header
//! that stays in view over the matrix, and nothing run from hostile text in a feature or a
//! report.
//!
//! The measures come from a test-only copy of each page with a small script appended that
//! writes them onto `<body>` as attributes (the pages themselves need no script), so the
//! dumped DOM carries them.
//!
//! Chromium is required: without it the test fails and says how to install it
//! (`scripts/install-chromium.sh`, or `CW_CONFORM_CHROMIUM=/path/to/chrome`). The
//! screenshot is kept in `target/tmp/docs/` for a person to look at.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::cli::{Finished, Running, Scratch, cw_conform_finished};

/// The variable that names the browser binary when it is not `chromium` on `PATH`.
const CHROMIUM_ENV: &str = "CW_CONFORM_CHROMIUM";

/// A laptop's screen.
const WIDTH: u32 = 1366;
const HEIGHT: u32 = 900;

/// The browser to render with; fails the test, saying how to install it, when there is none.
fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os(CHROMIUM_ENV) {
        return PathBuf::from(path);
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("chromium"))
            .find(|candidate| candidate.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "chromium is not installed, and this test renders the living documentation in a real \
             browser: install it with `scripts/install-chromium.sh` (as root: apt-get update && \
             apt-get install -y chromium), or set {CHROMIUM_ENV} to a Chromium or Chrome binary"
        )
    })
}

/// `chromium --headless` at 1366×900 on a local page, to the end.
fn headless(scratch: &Scratch, page: &Path, args: &[&str]) -> Finished {
    let mut command = Command::new(chromium());
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-extensions",
        ])
        .arg(format!(
            "--user-data-dir={}",
            scratch.path().join("chromium-profile").display()
        ))
        .arg(format!("--window-size={WIDTH},{HEIGHT}"))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let finished = Running::start(command).finish();
    finished.assert_code(0);
    finished
}

/// Appended to a test-only copy of a page: writes what the browser measured onto `<body>`.
const PROBE: &str = r"<script>
(function () {
  var root = document.documentElement, body = document.body;
  body.setAttribute('data-scroll-width', String(root.scrollWidth));
  body.setAttribute('data-client-width', String(root.clientWidth));
  var head = document.querySelector('table.matrix thead th');
  if (head) { body.setAttribute('data-matrix-header', getComputedStyle(head).position); }
  var held = document.querySelector('table.matrix td.denied.held');
  var denied = document.querySelector('table.matrix td.denied:not(.held)');
  if (held && denied) {
    body.setAttribute('data-held-denied', getComputedStyle(held).backgroundColor);
    body.setAttribute('data-denied', getComputedStyle(denied).backgroundColor);
  }
})();
</script>";

/// The page as the browser built it, with the probe's measures on `<body>`.
struct Rendered {
    dom: String,
}

impl Rendered {
    /// Renders a test-only copy of `page` (the probe appended) and dumps its DOM.
    fn of(scratch: &Scratch, page: &Path) -> Rendered {
        let html = std::fs::read_to_string(page)
            .unwrap_or_else(|e| panic!("failed to read {}: {e}", page.display()));
        assert!(
            html.contains("</body>"),
            "{} has no </body>",
            page.display()
        );
        let probed = page.with_extension("probe.html");
        std::fs::write(
            &probed,
            html.replacen("</body>", &format!("{PROBE}</body>"), 1),
        )
        .unwrap_or_else(|e| panic!("failed to write {}: {e}", probed.display()));
        let dump = headless(scratch, &probed, &["--dump-dom"]);
        assert!(
            dump.stdout.contains("data-client-width="),
            "the probe did not run in {}: {dump}",
            page.display()
        );
        Rendered { dom: dump.stdout }
    }

    /// An attribute the probe wrote on `<body>`.
    fn measure(&self, name: &str) -> Option<String> {
        let body = &self.dom[self.dom.find("<body")?..];
        let body = &body[..body.find('>')?];
        let start = body.find(&format!("{name}=\""))? + name.len() + 2;
        let value = &body[start..];
        Some(value[..value.find('"')?].to_owned())
    }

    fn width(&self, name: &str) -> u32 {
        self.measure(name)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} measured on <body>"))
    }

    /// Fails unless the page fits the window's width.
    #[track_caller]
    fn assert_no_horizontal_overflow(&self, page: &str) {
        let (scroll, client) = (
            self.width("data-scroll-width"),
            self.width("data-client-width"),
        );
        assert!(
            client > WIDTH - 40 && client <= WIDTH,
            "{page}: the window is {client} px wide, not about {WIDTH} px: the measure is not at a laptop's width"
        );
        assert!(
            scroll <= client,
            "{page} overflows horizontally at {WIDTH} px: {scroll} px of content in {client} px"
        );
    }
}

/// The IHDR width and height of a PNG.
fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let word = |at: usize| u32::from_be_bytes([png[at], png[at + 1], png[at + 2], png[at + 3]]);
    (word(16), word(20))
}

/// Rule IDs in the catalog, as `cw-conform rules --format json` lists them.
fn rule_ids(scratch: &Scratch) -> Vec<String> {
    let rules = cw_conform_finished(scratch, &["rules", "--format", "json"]);
    rules.assert_code(0);
    let list: Value = serde_json::from_str(&rules.stdout).expect("rules --format json is JSON");
    list.as_array()
        .expect("a list of rules")
        .iter()
        .map(|rule| rule["id"].as_str().expect("an id").to_owned())
        .collect()
}

const HOSTILE_FEATURE: &str = "@SD-01
Feature: Hostile <script>document.title = 'pwned by a feature'</script>

  Scenario: <img src=x onerror=\"document.body.setAttribute('data-pwned', 'feature')\"> a ticket
    Given an API member with the role \"least-privilege\"
    When the AI asks to create a service ticket with:
      | summary | <script>document.body.setAttribute('data-pwned', 'table')</script> |
    Then the outcome is allowed
";

const HOSTILE_FAILURE: &str = "expected <b>denied</b><img src=x onerror=\"document.body.setAttribute('data-pwned', 'report')\">";

#[test]
fn the_docs_site_renders_in_a_real_browser_with_every_rule_a_legend_and_no_overflow() {
    let browser = chromium();
    let scratch = Scratch::new("it");
    // A run report with a failure whose text is hostile, and a hostile feature beside the
    // built-in ones.
    let run = cw_conform_finished(
        &scratch,
        &[
            "run", "--quiet", "--tags", "@SD-01", "--format", "json", "--output", "run.json",
        ],
    );
    run.assert_code(0);
    let mut report: Value = crate::support::run_report(&scratch.read("run.json"));
    report["scenarios"][0]["failure"] = Value::String(HOSTILE_FAILURE.to_owned());
    let failed_name = report["scenarios"][0]["name"]
        .as_str()
        .expect("a name")
        .to_owned();
    scratch.write("run.json", &report.to_string());
    scratch.write("hostile/hostile.feature", HOSTILE_FEATURE);
    let builtin = Path::new(env!("CARGO_MANIFEST_DIR")).join("features");
    let site = scratch.path().join("site");
    let docs = cw_conform_finished(
        &scratch,
        &[
            "docs",
            "--output",
            &site.display().to_string(),
            "--results",
            "run.json",
            "--features",
            &builtin.display().to_string(),
            "--features",
            "hostile",
            "--integration",
            "Acme <AI> assistant",
        ],
    );
    docs.assert_code(0);
    for page in [
        "index.html",
        "rules.html",
        "matrix.html",
        "index.md",
        "rules.md",
        "matrix.md",
    ] {
        assert!(site.join(page).is_file(), "no {page}: {docs}");
    }

    // The screenshot of the rule page.
    let screenshot = scratch.path().join("rules.png");
    headless(
        &scratch,
        &site.join("rules.html"),
        &[&format!("--screenshot={}", screenshot.display())],
    );
    let png = std::fs::read(&screenshot).unwrap_or_else(|e| {
        panic!(
            "{} took no screenshot ({}): {e}",
            browser.display(),
            screenshot.display()
        )
    });
    assert!(
        png.len() > 10_000,
        "a {}-byte screenshot is blank",
        png.len()
    );
    assert_eq!(png_size(&png), (WIDTH, HEIGHT), "the screenshot's size");
    let kept = Path::new(env!("CARGO_TARGET_TMPDIR")).join("docs");
    let _ = std::fs::create_dir_all(&kept);
    let _ = std::fs::write(kept.join("rules.png"), &png);

    // The rule page as the browser built it.
    let rules = Rendered::of(&scratch, &site.join("rules.html"));
    for id in rule_ids(&scratch) {
        let section = format!(
            "<section class=\"rule\" id=\"{}\">",
            id.to_ascii_lowercase()
        );
        assert!(rules.dom.contains(&section), "no section for the rule {id}");
        assert!(
            rules
                .dom
                .contains(&format!("<a href=\"#{}\">", id.to_ascii_lowercase())),
            "the navigation has no link to {id}"
        );
    }
    assert!(rules.dom.contains("<dl class=\"legend\">"), "no legend");
    for outcome in [
        "allowed",
        "denied",
        "blocked",
        "escalated",
        "rejected",
        "partial",
        "unauthenticated",
        "failed",
    ] {
        assert!(
            rules.dom.contains(&format!(
                "<span class=\"swatch {outcome}\">{outcome}</span>"
            )),
            "the legend does not explain the outcome {outcome}"
        );
    }
    rules.assert_no_horizontal_overflow("rules.html");
    // The report's verdict and evidence, found through the features' other path.
    assert!(
        rules.dom.contains("Acme &lt;AI&gt; assistant"),
        "the integration is not named"
    );
    assert!(
        rules.dom.contains(&failed_name),
        "the failed scenario is not shown"
    );
    assert!(
        rules
            .dom
            .contains("<span class=\"verdict failed\">failed</span>"),
        "the failure of the report is not shown"
    );
    // Hostile text is shown as text, and nothing in it ran.
    assert!(
        rules.dom.contains(
            "&lt;img src=x onerror=\"document.body.setAttribute('data-pwned', 'report')\"&gt;"
        ),
        "the report's failure text is not shown as text"
    );
    assert!(
        rules.dom.contains("Scenario: &lt;img src=x onerror="),
        "the hostile scenario's name is not shown as text"
    );
    assert!(
        rules.dom.contains("Hostile &lt;script&gt;document.title"),
        "the hostile feature's name is not shown as text"
    );
    assert_eq!(
        rules.measure("data-pwned"),
        None,
        "hostile text ran as script"
    );
    assert!(
        !rules.dom.contains("<title>pwned"),
        "hostile text ran as script"
    );

    // The overview and the matrix fit too; the matrix header stays in view, and an action
    // held and then denied is coloured as denied.
    let index = Rendered::of(&scratch, &site.join("index.html"));
    index.assert_no_horizontal_overflow("index.html");
    let matrix = Rendered::of(&scratch, &site.join("matrix.html"));
    matrix.assert_no_horizontal_overflow("matrix.html");
    assert_eq!(
        matrix.measure("data-matrix-header").as_deref(),
        Some("sticky")
    );
    let held = matrix
        .measure("data-held-denied")
        .expect("an escalated → denied cell");
    assert_eq!(
        Some(held),
        matrix.measure("data-denied"),
        "escalated → denied is not coloured as denied"
    );
}

#[test]
fn docs_names_the_bad_input_and_fixes_its_date_from_source_date_epoch() {
    let scratch = Scratch::new("it");
    let missing = cw_conform_finished(
        &scratch,
        &["docs", "--output", "site", "--results", "missing.json"],
    );
    missing.assert_code(2);
    assert!(
        missing
            .stderr
            .contains("error: failed to read the run report missing.json: "),
        "{missing}"
    );
    // A Cucumber JSON report is an array: not the report `docs` reads.
    scratch.write("cucumber.json", "[\n  {\"elements\": []}\n]\n");
    let cucumber = cw_conform_finished(
        &scratch,
        &["docs", "--output", "site", "--results", "cucumber.json"],
    );
    cucumber.assert_code(2);
    assert!(
        cucumber.stderr.contains(
            "failed to read the run report cucumber.json: line 1, column 1: found '[' where a JSON object should start (expected the JSON report `cw-conform run --format json` writes)"
        ),
        "{cucumber}"
    );
    scratch.write(
        "broken/empty.feature",
        "Feature: F\n\n  Scenario: nothing yet\n",
    );
    let broken = cw_conform_finished(
        &scratch,
        &["docs", "--output", "site", "--features", "broken"],
    );
    broken.assert_code(2);
    assert!(
        broken
            .stderr
            .contains("broken/empty.feature:3: the Scenario \"nothing yet\" has no steps"),
        "{broken}"
    );
    assert!(
        !scratch.path().join("site").exists(),
        "a site was written from bad input"
    );

    let bad_date = Running::start({
        let mut command = crate::cli::cw_conform(&scratch, &["docs", "--output", "site"]);
        command.env("SOURCE_DATE_EPOCH", "yesterday");
        command
    })
    .finish();
    bad_date.assert_code(2);
    assert!(
        bad_date
            .stderr
            .contains("invalid SOURCE_DATE_EPOCH \"yesterday\""),
        "{bad_date}"
    );
    let dated = Running::start({
        let mut command = crate::cli::cw_conform(&scratch, &["docs", "--output", "site"]);
        command.env("SOURCE_DATE_EPOCH", "1764316800");
        command
    })
    .finish();
    dated.assert_code(0);
    for page in [
        "index.html",
        "rules.html",
        "matrix.html",
        "index.md",
        "rules.md",
    ] {
        assert!(
            scratch
                .read(&format!("site/{page}"))
                .contains("generated 2025-11-28 08:00:00 UTC by cw-conform"),
            "{page} does not name the date SOURCE_DATE_EPOCH fixes"
        );
    }
}
