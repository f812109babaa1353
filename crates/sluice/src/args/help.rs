//! The usage (on stderr after a command-line error) and `--help` (on stdout), both generated
//! from [`FLAGS`](super::table::FLAGS).

use super::table::{Tier, FLAGS};

/// The option list, one line per option: `  -f <cfgfile|cfgdir>   doc`.
fn option_lines(tiers: &[Tier]) -> String {
    let rows: Vec<(String, &str)> = FLAGS
        .iter()
        .filter(|f| tiers.contains(&f.tier))
        .map(|f| {
            let mut name = format!("-{}", f.letters);
            if !f.value.is_empty() {
                let joiner = match f.takes {
                    super::table::Takes::Attached => "",
                    super::table::Takes::LongValue => "=",
                    _ => " ",
                };
                name.push_str(joiner);
                name.push_str(f.value);
            }
            (name, f.doc)
        })
        .collect();
    let width = rows.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    rows.iter()
        .map(|(name, doc)| format!("  {name:<width$}  {doc}\n"))
        .collect()
}

/// The usage text HAProxy prints on stderr for a command-line error.
pub fn usage(program: &str) -> String {
    format!(
        "Usage : {program} [-f <cfgfile|cfgdir>]* [ -c ] [ -V | -q ] [ -W | -Ws ] [ -D ] [ -p <pidfile> ]\n\
         \x20       [ -sf <pid>* | -st <pid>* ] [ -S <bind>[,<opt>...] ] [ -- <cfgfile>* ]\n\
         {}\
         Sluice's own options:\n{}\
         Options are not bundled: only the first one or two letters after '-' count.\n",
        option_lines(&[Tier::A, Tier::B]),
        option_lines(&[Tier::Ours]),
    )
}

/// `--help`: what Sluice accepts and how it answers, on stdout.
pub fn help(program: &str) -> String {
    format!(
        "Sluice runs HAProxy 3.4 configuration files with HAProxy's command line.\n\
         \n\
         Usage: {program} -f <cfgfile|cfgdir> [-f ...] [options] [-- <cfgfile>*]\n\
         \n\
         HAProxy options:\n{}\
         \n\
         Accepted for compatibility, without effect yet:\n{}\
         \n\
         Sluice's own options:\n{}\
         \n\
         Notes:\n\
         \x20 Only the first one or two letters of an option count, as in HAProxy ('-cV' is '-c');\n\
         \x20 Sluice warns about the letters it ignores. Options are never bundled.\n\
         \x20 With -c the exit code is 0 when the configuration is valid, 1 on errors (or on\n\
         \x20 warnings with -dW or 'zero-warning'), 2 when it is valid but nothing would listen.\n\
         \x20 -vq, -vqs and -vqb print one line each: '3.4.0-sluice-<version>', '3.4.0' and '3.4',\n\
         \x20 the HAProxy version whose language Sluice implements (what HAPROXY_BRANCH and\n\
         \x20 version_atleast() see); scripts that run 'haproxy -vqb' get the branch they expect.\n\
         \x20 Without -c, Sluice checks the configuration and its environment exactly as -c does,\n\
         \x20 then starts (foreground, -D daemon, -W/-Ws master-worker) only if nothing failed.\n",
        option_lines(&[Tier::A, Tier::B]),
        option_lines(&[Tier::C]),
        option_lines(&[Tier::Ours]),
    )
}
