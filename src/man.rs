//! # The man page
//!
//! `ipft --man`: clap's NAME, SYNOPSIS, DESCRIPTION and OPTIONS from the
//! command line's own help (so they never drift from `--help`), then the
//! sections a man page needs that `--help` has no room for (`man.roff`).

use std::io::{self, Write};

/// Selection, following, output formats, extensions, environment, exit
/// status, files, examples, see also.
const SECTIONS: &str = include_str!("man.roff");

/// The command without its hidden flags (for packaging), for completions:
/// clap_complete offers hidden flags too.
pub fn visible(cmd: &clap::Command) -> clap::Command {
    debug_assert_eq!(cmd.get_name(), "ipft");
    clap::Command::new("ipft").args(cmd.get_arguments().filter(|a| !a.is_hide_set()).cloned())
}

pub fn render(cmd: clap::Command, out: &mut dyn Write) -> io::Result<()> {
    let man = clap_mangen::Man::new(cmd);
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;
    out.write_all(SECTIONS.as_bytes())?;
    man.render_version_section(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_man_page_has_every_section_and_no_hidden_flag() {
        let mut out = Vec::new();
        render(crate::cli::Args::command(), &mut out).unwrap();
        let page = String::from_utf8(out).unwrap();
        for section in [
            "NAME",
            "SYNOPSIS",
            "DESCRIPTION",
            "OPTIONS",
            "SELECTING PACKETS",
            "OUTPUT FORMATS",
            "EXTENSIONS",
            "ENVIRONMENT",
            "EXIT STATUS",
            "FILES",
            "EXAMPLES",
            "SEE ALSO",
        ] {
            assert!(
                page.contains(&format!(".SH {section}\n"))
                    || page.contains(&format!(".SH \"{section}\"\n")),
                "no {section} section"
            );
        }
        assert!(page.contains("\\-\\-netns") && page.contains("EXPRESSION"));
        for hidden in ["\\-\\-man", "\\-\\-completions", "\\-\\-transport"] {
            assert!(!page.contains(&format!("fB{hidden}")), "{hidden} shown");
        }
    }

    #[test]
    fn completions_offer_no_hidden_flag() {
        for shell in [
            clap_complete::Shell::Bash,
            clap_complete::Shell::Zsh,
            clap_complete::Shell::Fish,
        ] {
            let mut script = Vec::new();
            let mut cmd = visible(&crate::cli::Args::command());
            clap_complete::generate(shell, &mut cmd, "ipft", &mut script);
            let script = String::from_utf8(script).unwrap();
            assert!(script.contains("netns"), "{shell}");
            for hidden in ["-man", "-completions", "-transport"] {
                assert!(!script.contains(hidden), "{shell} offers {hidden}");
            }
        }
    }
}
