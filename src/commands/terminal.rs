//! Whether output is coloured: `--color auto|always|never`, the `NO_COLOR` convention
//! (<https://no-color.org>) and whether standard output is a terminal.

use std::ffi::OsString;
use std::io::IsTerminal as _;

/// `--color`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour when standard output is a terminal and `NO_COLOR` is not set.
    #[default]
    Auto,
    /// Always colour (also with `NO_COLOR` set: the flag wins).
    Always,
    /// Never colour.
    Never,
}

impl ColorChoice {
    /// Whether to colour standard output, given this process's environment and stdout.
    pub fn enabled(self) -> bool {
        self.resolve(
            std::env::var_os("NO_COLOR"),
            std::io::stdout().is_terminal(),
        )
    }

    /// Whether to colour, given `NO_COLOR` and whether stdout is a terminal. An empty
    /// `NO_COLOR` counts as unset, as the convention says.
    pub fn resolve(self, no_color: Option<OsString>, terminal: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => terminal && no_color.is_none_or(|value| value.is_empty()),
        }
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case::auto_on_a_terminal(ColorChoice::Auto, None, true, true)]
    #[case::auto_piped(ColorChoice::Auto, None, false, false)]
    #[case::auto_with_no_color(ColorChoice::Auto, Some("1"), true, false)]
    #[case::auto_with_an_empty_no_color(ColorChoice::Auto, Some(""), true, true)]
    #[case::always_beats_no_color(ColorChoice::Always, Some("1"), false, true)]
    #[case::never_on_a_terminal(ColorChoice::Never, None, true, false)]
    fn colour_follows_the_flag_then_no_color_then_the_terminal(
        #[case] choice: ColorChoice,
        #[case] no_color: Option<&str>,
        #[case] terminal: bool,
        #[case] expected: bool,
    ) {
        assert_eq!(
            choice.resolve(no_color.map(OsString::from), terminal),
            expected
        );
    }
}
