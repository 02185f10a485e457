//! What to create on a ConnectWise sandbox before running against it: the security roles,
//! cell by cell, the API members that hold them, and the profiles file that maps each role
//! profile to its member's keys (`cw-conform sandbox plan`).
//!
//! ConnectWise's API cannot write security-role settings, so a person makes them in the
//! ConnectWise UI; this is their checklist. Pure rendering: no I/O.

use std::fmt::Write as _;

use crate::connectwise::security::{FunctionCatalog, PermissionMap};
use crate::model::{Level, Operation, SecurityRole};
use crate::target::DEFAULT_ROLE;

/// One role to create, and the API member to create with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedRole {
    /// The role, with the name the profiles file gives it.
    pub role: SecurityRole,
    /// The identifier to give its API member (`cw-conform-least-privilege`).
    pub member: String,
    /// The variables holding the member's public and private keys.
    pub key_variables: (String, String),
}

impl PlannedRole {
    /// The plan for one role: its member's identifier and key variables follow from the
    /// role's name; the default profile's member uses the `CONNECTWISE_*` keys.
    pub fn new(role: SecurityRole) -> PlannedRole {
        let stem: String = role
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect();
        let key_variables = if role.name == DEFAULT_ROLE {
            (
                "CONNECTWISE_PUBLIC_KEY".to_owned(),
                "CONNECTWISE_PRIVATE_KEY".to_owned(),
            )
        } else {
            (
                format!("CW_{stem}_PUBLIC_KEY"),
                format!("CW_{stem}_PRIVATE_KEY"),
            )
        };
        PlannedRole {
            member: format!("cw-conform-{}", role.name.to_ascii_lowercase()),
            role,
            key_variables,
        }
    }

    /// Whether the profiles file needs an entry for it (the default profile's member is
    /// the one the `CONNECTWISE_*` keys name).
    fn in_profiles_file(&self) -> bool {
        self.role.name != DEFAULT_ROLE
    }
}

/// The profiles file for the planned roles (variable names only, never a key).
pub fn profiles_file(plan: &[PlannedRole]) -> String {
    let mut out = String::from(
        "# cw-conform sandbox profiles: each role profile and the variables holding its API member's keys.\n",
    );
    for planned in plan.iter().filter(|p| p.in_profiles_file()) {
        let _ = write!(
            out,
            "\n[profile.{}]\npublic_key_env = \"{}\"\nprivate_key_env = \"{}\"\n",
            planned.role.name, planned.key_variables.0, planned.key_variables.1
        );
    }
    out
}

/// The mock-only keys `serve` gives the planned member of `planned` when it stands in for a
/// sandbox: `ROLE-public` and `ROLE-private`.
fn mock_keys(planned: &PlannedRole) -> (String, String) {
    let name = planned.role.name.to_ascii_lowercase();
    (format!("{name}-public"), format!("{name}-private"))
}

/// A members file for `cw-conform serve --members` standing in for a sandbox on which the
/// plan was carried out: each planned member with its role and mock-only keys.
pub fn members_file(plan: &[PlannedRole]) -> String {
    let mut out = String::from(
        "# cw-conform serve --members FILE: the API members `sandbox plan` lists, each with its role\n\
         # and mock-only keys, so that `serve` stands in for a sandbox on which the plan was carried\n\
         # out. `sandbox plan --format env` gives a run these keys.\n",
    );
    for planned in plan {
        let (public, private) = mock_keys(planned);
        let _ = write!(
            out,
            "\n[[member]]\nidentifier = \"{}\"\nrole = \"{}\"\npublic_key = \"{public}\"\nprivate_key = \"{private}\"\n",
            planned.member, planned.role.name
        );
    }
    out
}

/// The settings (`.env` lines) that point a run at `serve --members` with the members file
/// of [`members_file`]: the company and client `serve` takes by default, the profiles file
/// `profiles` and each member's mock-only keys. `site` is the URL `serve` printed.
pub fn env_file(plan: &[PlannedRole], site: &str, profiles: &str) -> String {
    let mut out = format!(
        "# cw-conform run settings for `serve --members` standing in for a sandbox (mock-only keys).\n\
         CONNECTWISE_SITE={site}\n\
         CONNECTWISE_COMPANY_ID=northwind\n\
         CONNECTWISE_CLIENT_ID=cw-conform\n\
         CONNECTWISE_PROFILES={profiles}\n"
    );
    for planned in plan {
        let (public, private) = mock_keys(planned);
        let _ = write!(
            out,
            "{}={public}\n{}={private}\n",
            planned.key_variables.0, planned.key_variables.1
        );
    }
    out
}

/// The cells of a role as ConnectWise's role screen shows them: every function the harness
/// knows, by module, with its four levels.
fn cells<'a>(
    functions: &'a FunctionCatalog,
    role: &'a SecurityRole,
) -> impl Iterator<Item = (&'a str, &'a str, [Level; 4])> + 'a {
    functions.iter().map(move |function| {
        (
            function.module.as_str(),
            function.function.as_str(),
            Operation::ALL.map(|operation| role.level(function, operation)),
        )
    })
}

/// What to set in the Customize allow-list of each function the role limits, as a person
/// does it on the role's screen in ConnectWise: a line per function, naming the items to
/// keep under "Allow access to these" and those to move to "Disallow access to these".
fn customize_lines(permissions: &PermissionMap, role: &SecurityRole) -> Vec<String> {
    role.limited()
        .filter_map(|(function, _)| {
            let allowed = role.effective_limit(function)?;
            let disallowed: Vec<String> = permissions
                .customize
                .get(function)
                .into_iter()
                .flatten()
                .filter(|item| !allowed.iter().any(|a| a.eq_ignore_ascii_case(item)))
                .cloned()
                .collect();
            let others = if disallowed.is_empty() {
                "every other item".to_owned()
            } else {
                format!("{} and any other item the site has", crate::model::role::quoted(&disallowed))
            };
            Some(format!(
                "{} > {}: click Customize; keep only {} under \"Allow access to these\", and move {others} to \"Disallow access to these\"",
                function.module,
                function.function,
                crate::model::role::quoted(allowed),
            ))
        })
        .collect()
}

/// The roles of the plan that limit a Customize allow-list, each with its limits in short
/// (`scenario-1a2b3c4d`: Companies / Configurations only "Firewall").
fn limited_roles(plan: &[PlannedRole]) -> Vec<(&str, String)> {
    plan.iter()
        .filter_map(|planned| {
            let role = &planned.role;
            let limits: Vec<String> = role
                .limited()
                .filter_map(|(function, _)| {
                    let items = role.effective_limit(function)?;
                    Some(format!(
                        "{function} only {}",
                        crate::model::role::quoted(items)
                    ))
                })
                .collect();
            (!limits.is_empty()).then(|| (role.name.as_str(), limits.join("; ")))
        })
        .collect()
}

const INTRODUCTION: &str = "ConnectWise's API cannot write security-role settings: create each role below in \
ConnectWise (System > Security Roles), setting every cell as listed (a function not granted \
is None in all four columns) and, where a role limits a function to some Customize items, \
those items, then an API member with that role (System > Members > API Members) and its \
keys. Before every run, cw-conform reads each member's settings (/system/mySecurity and \
/system/mySecurity/customizeItems) and refuses to run when one cell or one Customize item \
differs.";

/// What the plan says of the roles that limit a Customize allow-list, before the roles.
const LIMITED_INTRODUCTION: &str = "These roles limit a function to some items of its Customize list (the scenarios \
that check such a limit run as their members); the steps are under each role:";

/// The plan as Markdown.
pub fn markdown(permissions: &PermissionMap, plan: &[PlannedRole]) -> String {
    let functions = &permissions.functions;
    let mut out = String::from("# Security roles and API members to create on the sandbox\n\n");
    let _ = writeln!(out, "{INTRODUCTION}\n");
    let limited = limited_roles(plan);
    if !limited.is_empty() {
        let _ = writeln!(out, "{LIMITED_INTRODUCTION}\n");
        for (name, limits) in &limited {
            let _ = writeln!(out, "- `{name}`: {limits}");
        }
        out.push('\n');
    }
    for planned in plan {
        let role = &planned.role;
        let _ = writeln!(out, "## Role `{}`\n\n{}\n", role.name, role.summary);
        let _ = writeln!(out, "| Module | Function | Add | Edit | Delete | Inquire |");
        let _ = writeln!(out, "|---|---|---|---|---|---|");
        for (module, function, levels) in cells(functions, role) {
            let levels: Vec<&str> = levels.iter().map(|l| l.as_str()).collect();
            let _ = writeln!(out, "| {module} | {function} | {} |", levels.join(" | "));
        }
        out.push('\n');
        let lines = customize_lines(permissions, role);
        for line in &lines {
            let _ = writeln!(out, "- {line}");
        }
        if !lines.is_empty() {
            out.push('\n');
        }
    }
    let _ = writeln!(out, "## API members\n");
    let _ = writeln!(
        out,
        "| API member | Security role | Public key variable | Private key variable |"
    );
    let _ = writeln!(out, "|---|---|---|---|");
    for planned in plan {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            planned.member, planned.role.name, planned.key_variables.0, planned.key_variables.1
        );
    }
    let _ = writeln!(
        out,
        "\n## Profiles file\n\nSave as `sandbox-profiles.toml`, set `CONNECTWISE_PROFILES=sandbox-profiles.toml`, and set each variable to its member's key (in the environment or `.env`). The member with the role `{DEFAULT_ROLE}` signs in with `CONNECTWISE_PUBLIC_KEY` and `CONNECTWISE_PRIVATE_KEY`.\n\n```toml\n{}```",
        profiles_file(plan)
    );
    out
}

/// Text made safe for HTML.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The plan as a standalone HTML page, for the person making the roles.
pub fn html(permissions: &PermissionMap, plan: &[PlannedRole]) -> String {
    let functions = &permissions.functions;
    let mut out = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>cw-conform: sandbox plan</title>\n\
         <style>body{font-family:sans-serif;max-width:60em;margin:1em auto}table{border-collapse:collapse;margin-bottom:1em}\
         td,th{border:1px solid #ccc;padding:3px 6px;font-size:13px}td.All{background:#e6f4ea}td.My{background:#fef7e0}\
         td.None{color:#999}pre{background:#f6f6f6;padding:8px}</style></head><body>\n\
         <h1>Security roles and API members to create on the sandbox</h1>\n",
    );
    let _ = writeln!(out, "<p>{}</p>", escape(INTRODUCTION));
    let limited = limited_roles(plan);
    if !limited.is_empty() {
        let _ = writeln!(out, "<p>{}</p>\n<ul>", escape(LIMITED_INTRODUCTION));
        for (name, limits) in &limited {
            let _ = writeln!(
                out,
                "<li><code>{}</code>: {}</li>",
                escape(name),
                escape(limits)
            );
        }
        out.push_str("</ul>\n");
    }
    for planned in plan {
        let role = &planned.role;
        let _ = writeln!(
            out,
            "<h2>Role <code>{}</code></h2>\n<p>{}</p>\n<table>\n<tr><th>Module</th><th>Function</th><th>Add</th><th>Edit</th><th>Delete</th><th>Inquire</th></tr>",
            escape(&role.name),
            escape(&role.summary)
        );
        for (module, function, levels) in cells(functions, role) {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td>",
                escape(module),
                escape(function)
            );
            for level in levels {
                let _ = write!(out, "<td class=\"{level}\">{level}</td>");
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</table>\n");
        let lines = customize_lines(permissions, role);
        if !lines.is_empty() {
            out.push_str("<ul>\n");
            for line in lines {
                let _ = writeln!(out, "<li>{}</li>", escape(&line));
            }
            out.push_str("</ul>\n");
        }
    }
    out.push_str("<h2>API members</h2>\n<table>\n<tr><th>API member</th><th>Security role</th><th>Public key variable</th><th>Private key variable</th></tr>\n");
    for planned in plan {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&planned.member),
            escape(&planned.role.name),
            escape(&planned.key_variables.0),
            escape(&planned.key_variables.1)
        );
    }
    let _ = write!(
        out,
        "</table>\n<h2>Profiles file</h2>\n<p>Save as <code>sandbox-profiles.toml</code> and set <code>CONNECTWISE_PROFILES</code> to it; the member with the role <code>{}</code> signs in with <code>CONNECTWISE_PUBLIC_KEY</code> and <code>CONNECTWISE_PRIVATE_KEY</code>.</p>\n<pre>{}</pre>\n</body></html>\n",
        escape(DEFAULT_ROLE),
        escape(&profiles_file(plan))
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::Fixtures;

    fn plan(names: &[&str]) -> Vec<PlannedRole> {
        let fixtures = Fixtures::builtin().unwrap();
        names
            .iter()
            .map(|n| PlannedRole::new(fixtures.role(n).unwrap()))
            .collect()
    }

    #[test]
    fn a_customize_allow_list_is_listed_under_its_role_as_the_role_screen_sets_it() {
        let fixtures = Fixtures::builtin().unwrap();
        let mut role = fixtures.role("least-privilege").unwrap();
        role.name = "firewalls-and-servers".into();
        role.limit_items(
            "Companies / Configurations".parse().unwrap(),
            vec!["Firewall".into(), "Server".into()],
        );
        let plan = [PlannedRole::new(role)];
        let line = "Companies > Configurations: click Customize; keep only \"Firewall\", \"Server\" under \"Allow access to these\", and move \"Workstation\" and any other item the site has to \"Disallow access to these\"";
        let summary =
            "`firewalls-and-servers`: Companies / Configurations only \"Firewall\", \"Server\"";

        let text = markdown(&fixtures.permissions, &plan);
        let page = html(&fixtures.permissions, &plan);

        assert!(text.contains(&format!("- {line}\n")), "{text}");
        assert!(text.contains(&format!("- {summary}\n")), "{text}");
        assert!(
            page.contains(&format!("<li>{}</li>", escape(line))),
            "{page}"
        );
        assert!(
            page.contains("<li><code>firewalls-and-servers</code>: Companies / Configurations only &quot;Firewall&quot;, &quot;Server&quot;</li>"),
            "{page}"
        );
        assert!(
            profiles_file(&plan).contains("[profile.firewalls-and-servers]\npublic_key_env = \"CW_FIREWALLS_AND_SERVERS_PUBLIC_KEY\""),
            "{}",
            profiles_file(&plan)
        );
        let unlimited = markdown(&fixtures.permissions, &self::plan(&["least-privilege"]));
        assert!(!unlimited.contains("click Customize"), "{unlimited}");
        assert!(!unlimited.contains(LIMITED_INTRODUCTION), "{unlimited}");
    }

    #[test]
    fn every_cell_of_every_role_is_listed_with_its_member_and_profile() {
        let fixtures = Fixtures::builtin().unwrap();
        let plan = plan(&["least-privilege", "customer-sync"]);

        let text = markdown(&fixtures.permissions, &plan);

        let rows = text
            .lines()
            .filter(|l| l.starts_with("| Companies | Contacts |"))
            .collect::<Vec<_>>();
        assert_eq!(
            rows,
            [
                "| Companies | Contacts | All | All | All | All |",
                "| Companies | Contacts | None | None | None | All |"
            ]
        );
        let functions = fixtures.permissions.functions.iter().count();
        let cell_rows = text
            .lines()
            .filter(|l| l.ends_with(" |") && l.matches(" | ").count() == 5);
        // Each role's table: its header and one row per function.
        assert_eq!(cell_rows.count(), 2 * (functions + 1));
        assert!(text.contains(
            "| cw-conform-customer-sync | customer-sync | CW_CUSTOMER_SYNC_PUBLIC_KEY | CW_CUSTOMER_SYNC_PRIVATE_KEY |"
        ));
        assert!(
            text.contains(
                "[profile.customer-sync]\npublic_key_env = \"CW_CUSTOMER_SYNC_PUBLIC_KEY\""
            )
        );
        assert!(!text.contains("[profile.least-privilege]"), "{text}");
    }

    #[test]
    fn the_profiles_file_it_prints_loads() {
        let plan = plan(&["least-privilege", "read-only-discovery"]);
        let folder = crate::scratch::Scratch::new("plan");
        let path = folder.join("profiles.toml");
        std::fs::write(&path, profiles_file(&plan)).unwrap();
        let path_text = path.display().to_string();
        let vars = crate::target::vars(&[
            ("CONNECTWISE_SITE", "http://127.0.0.1:9"),
            ("CONNECTWISE_COMPANY_ID", "northwind"),
            ("CONNECTWISE_PUBLIC_KEY", "lp-public"),
            ("CONNECTWISE_PRIVATE_KEY", "lp-private"),
            ("CONNECTWISE_CLIENT_ID", "client"),
            ("CONNECTWISE_PROFILES", &path_text),
            ("CW_READ_ONLY_DISCOVERY_PUBLIC_KEY", "rod-public"),
            ("CW_READ_ONLY_DISCOVERY_PRIVATE_KEY", "rod-private"),
        ]);

        let sandbox = crate::target::Sandbox::from_vars(&vars);

        let profiles: Vec<String> = sandbox.unwrap().profiles.into_keys().collect();
        assert_eq!(profiles, ["least-privilege", "read-only-discovery"]);
    }

    #[test]
    fn html_escapes_what_it_shows() {
        let fixtures = Fixtures::builtin().unwrap();
        let mut role = fixtures.role("customer-sync").unwrap();
        role.summary = "<script>alert(1)</script> & more".into();

        let page = html(&fixtures.permissions, &[PlannedRole::new(role)]);

        assert!(!page.contains("<script>"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; more"));
        assert!(page.contains("<td class=\"All\">All</td>"));
        assert!(page.contains("<style>"));
    }
}
