//! `-S <address>[,<bind option>[,<value>]...]`: the master CLI listener, validated before
//! anything starts (HAProxy 3.4 finds a bad option only after forking the worker).

/// One `-S` argument, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MasterCli {
    /// The argument as given.
    pub spec: String,
    /// The address part, e.g. `/run/sluice-master.sock`, `unix@x`, `fd@3`, `127.0.0.1:9999`.
    pub address: String,
    /// Bind options as `(keyword, value)`; commas stand for the spaces of a `bind` line.
    pub options: Vec<(String, Option<String>)>,
}

/// Bind options that make sense on a master CLI listener, with whether they take a value.
const OPTIONS: &[(&str, bool)] = &[
    ("accept-proxy", false),
    ("backlog", true),
    ("expose-fd", true),
    ("gid", true),
    ("group", true),
    ("interface", true),
    ("level", true),
    ("maxconn", true),
    ("mode", true),
    ("name", true),
    ("namespace", true),
    ("severity-output", true),
    ("transparent", false),
    ("uid", true),
    ("user", true),
    ("v4v6", false),
    ("v6only", false),
];

/// Why a `-S` argument was refused; the texts are the ALERT lines to print, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MasterCliError {
    pub lines: Vec<String>,
}

impl MasterCliError {
    fn new(text: String) -> Self {
        Self {
            lines: vec![text, "Can't create the master's CLI.".to_string()],
        }
    }
}

/// Parses and checks one `-S` argument.
pub fn parse(spec: &str) -> Result<MasterCli, MasterCliError> {
    let mut parts = spec.split(',');
    let address = parts.next().unwrap_or_default().to_string();
    check_address(&address).map_err(MasterCliError::new)?;
    let mut options = Vec::new();
    while let Some(keyword) = parts.next() {
        let Some(&(_, takes_value)) = OPTIONS.iter().find(|(name, _)| *name == keyword) else {
            let mut text = format!("'{address} {keyword}' : unknown keyword '{keyword}'.");
            if let Some(close) = closest(keyword) {
                text.push_str(&format!(" Did you mean '{close}' maybe ?"));
            }
            return Err(MasterCliError::new(text));
        };
        let value = if takes_value {
            match parts.next() {
                Some(v) if !v.is_empty() => Some(v.to_string()),
                _ => {
                    return Err(MasterCliError::new(format!(
                        "'{address} {keyword}' : missing value for '{keyword}'."
                    )))
                }
            }
        } else {
            None
        };
        check_option(&address, keyword, value.as_deref()).map_err(MasterCliError::new)?;
        options.push((keyword.to_string(), value));
    }
    Ok(MasterCli {
        spec: spec.to_string(),
        address,
        options,
    })
}

fn closest(keyword: &str) -> Option<&'static str> {
    OPTIONS
        .iter()
        .map(|(name, _)| (*name, strsim::damerau_levenshtein(keyword, name)))
        .filter(|(name, distance)| *distance <= 2.max(name.len() / 4))
        .min_by_key(|(_, distance)| *distance)
        .map(|(name, _)| name)
}

fn check_option(address: &str, keyword: &str, value: Option<&str>) -> Result<(), String> {
    let value = value.unwrap_or_default();
    match keyword {
        "level" if !matches!(value, "user" | "operator" | "admin") => Err(format!(
            "'{address} level' : 'level' only supports 'user', 'operator', and 'admin' (got '{value}')."
        )),
        "mode" if u32::from_str_radix(value, 8).is_err() => Err(format!(
            "'{address} mode' : '{value}' is not an octal permission mode."
        )),
        "backlog" | "maxconn" | "uid" | "gid" if value.parse::<u32>().is_err() => Err(format!(
            "'{address} {keyword}' : '{value}' is not a positive number."
        )),
        _ => Ok(()),
    }
}

/// Accepts every `bind` address form HAProxy accepts for `-S`.
fn check_address(address: &str) -> Result<(), String> {
    if address.is_empty() {
        return Err("Socket and optional bind parameters expected with the -S flag".to_string());
    }
    let Some((family, rest)) = address.split_once('@') else {
        return if address.contains('/') {
            Ok(())
        } else {
            check_host_port(address, address)
        };
    };
    match family {
        "unix" | "abns" | "abnsz" | "uxst" if !rest.is_empty() => Ok(()),
        "fd" | "sockpair" if rest.parse::<u32>().is_ok() => Ok(()),
        "fd" | "sockpair" => Err(format!(
            "'{address}' : '{family}@' expects a file descriptor number."
        )),
        "ipv4" | "ipv6" | "tcp" | "tcp4" | "tcp6" => check_host_port(address, rest),
        "unix" | "abns" | "abnsz" | "uxst" => {
            Err(format!("'{address}' : missing socket path after '{family}@'."))
        }
        _ => Err(format!(
            "'{address}' : unknown address family '{family}@' (expected a path, unix@, abns@, fd@, sockpair@, ipv4@, ipv6@ or <host>:<port>)."
        )),
    }
}

fn check_host_port(address: &str, host_port: &str) -> Result<(), String> {
    let port = host_port.rsplit_once(':').map(|(_, port)| port);
    match port.map(str::parse::<u16>) {
        Some(Ok(p)) if p > 0 => Ok(()),
        _ => Err(format!(
            "'{address}' : expected a UNIX socket path, fd@<n>, or <host>:<port> with a port from 1 to 65535."
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_usual_forms() {
        for spec in [
            "/run/m.sock",
            "/run/m.sock,mode,600,level,operator",
            "unix@m.sock",
            "fd@3",
            "sockpair@4",
            "127.0.0.1:9999",
            "ipv6@[::1]:9999",
            "abns@master,expose-fd,listeners",
        ] {
            assert!(parse(spec).is_ok(), "{spec}");
        }
        let cli = parse("/m.sock,level,user").expect("valid");
        assert_eq!(cli.address, "/m.sock");
        assert_eq!(
            cli.options,
            vec![("level".to_string(), Some("user".to_string()))]
        );
    }

    #[test]
    fn unknown_option_suggests_and_refuses() {
        let err = parse("/m.sock,levle,admin").expect_err("unknown");
        assert_eq!(
            err.lines,
            vec![
                "'/m.sock levle' : unknown keyword 'levle'. Did you mean 'level' maybe ?"
                    .to_string(),
                "Can't create the master's CLI.".to_string()
            ]
        );
    }

    #[test]
    fn refuses_bad_addresses_and_values() {
        for spec in [
            "",
            "fd@x",
            "foo",
            "host:0",
            "nope@x",
            "/m.sock,level,root",
            "/m,mode,999",
        ] {
            assert!(parse(spec).is_err(), "{spec}");
        }
    }
}
