//! The `HAPROXY_*` environment variables HAProxy defines for configurations (spec R1.7):
//! configs test `defined(HAPROXY_MWORKER)` and `streq("$HAPROXY_BRANCH",3.4)`, and use the
//! default log formats through `"${HAPROXY_HTTP_LOG_FMT} ..."`.

use crate::args::Invocation;
use crate::version::version_only;
use sluice_config::version::COMPAT_BRANCH;
use sluice_config::Environment;

/// HAProxy's default log formats (configuration manual, section 8.2), defined only while the
/// configuration is read.
pub const LOG_FORMATS: &[(&str, &str)] = &[
    ("HAPROXY_TCP_LOG_FMT", TCP_LOG_FMT),
    ("HAPROXY_TCP_CLF_LOG_FMT", TCP_CLF_LOG_FMT),
    ("HAPROXY_HTTP_LOG_FMT", HTTP_LOG_FMT),
    ("HAPROXY_HTTP_CLF_LOG_FMT", HTTP_CLF_LOG_FMT),
    ("HAPROXY_HTTPS_LOG_FMT", HTTPS_LOG_FMT),
    ("HAPROXY_KEYLOG_FC_LOG_FMT", KEYLOG_FC_LOG_FMT),
    ("HAPROXY_KEYLOG_BC_LOG_FMT", KEYLOG_BC_LOG_FMT),
];

const TCP_LOG_FMT: &str = "%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq";
const TCP_CLF_LOG_FMT: &str = "%{Q}o %{-Q}ci - - [%T] \"TCP \" 000 %B \"\" \"\" %cp %ms %ft %b %s %Th %Tw %Tc %Tt %U %ts-- %ac %fc %bc %sc %rc %sq %bq \"\" \"\" ";
const HTTP_LOG_FMT: &str = "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r";
const HTTP_CLF_LOG_FMT: &str = "%{+Q}o %{-Q}ci - - [%trg] %r %ST %B \"\" \"\" %cp %ms %ft %b %s %TR %Tw %Tc %Tr %Ta %tsc %ac %fc %bc %sc %rc %sq %bq %CC %CS %hrl %hsl";
const HTTPS_LOG_FMT: &str = "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r %[fc_err]/%[ssl_fc_err,hex]/%[ssl_c_err]/%[ssl_c_ca_err]/%[ssl_fc_is_resumed] %[ssl_fc_sni]/%sslv/%sslc";
const KEYLOG_FC_LOG_FMT: &str = "CLIENT_EARLY_TRAFFIC_SECRET %[ssl_fc_client_random,hex] %[ssl_fc_client_early_traffic_secret]\n\
CLIENT_HANDSHAKE_TRAFFIC_SECRET %[ssl_fc_client_random,hex] %[ssl_fc_client_handshake_traffic_secret]\n\
SERVER_HANDSHAKE_TRAFFIC_SECRET %[ssl_fc_client_random,hex] %[ssl_fc_server_handshake_traffic_secret]\n\
CLIENT_TRAFFIC_SECRET_0 %[ssl_fc_client_random,hex] %[ssl_fc_client_traffic_secret_0]\n\
SERVER_TRAFFIC_SECRET_0 %[ssl_fc_client_random,hex] %[ssl_fc_server_traffic_secret_0]\n\
EXPORTER_SECRET %[ssl_fc_client_random,hex] %[ssl_fc_exporter_secret]\n\
EARLY_EXPORTER_SECRET %[ssl_fc_client_random,hex] %[ssl_fc_early_exporter_secret]";
const KEYLOG_BC_LOG_FMT: &str = "CLIENT_EARLY_TRAFFIC_SECRET %[ssl_bc_client_random,hex] %[ssl_bc_client_early_traffic_secret]\n\
CLIENT_HANDSHAKE_TRAFFIC_SECRET %[ssl_bc_client_random,hex] %[ssl_bc_client_handshake_traffic_secret]\n\
SERVER_HANDSHAKE_TRAFFIC_SECRET %[ssl_bc_client_random,hex] %[ssl_bc_server_handshake_traffic_secret]\n\
CLIENT_TRAFFIC_SECRET_0 %[ssl_bc_client_random,hex] %[ssl_bc_client_traffic_secret_0]\n\
SERVER_TRAFFIC_SECRET_0 %[ssl_bc_client_random,hex] %[ssl_bc_server_traffic_secret_0]\n\
EXPORTER_SECRET %[ssl_bc_client_random,hex] %[ssl_bc_exporter_secret]\n\
EARLY_EXPORTER_SECRET %[ssl_bc_client_random,hex] %[ssl_bc_early_exporter_secret]";

/// The variables present before the configuration is read: branch, startup version,
/// master-worker, local peer.
pub fn set_startup(env: &mut Environment, inv: &Invocation) {
    env.set("HAPROXY_BRANCH", COMPAT_BRANCH);
    if env.get("HAPROXY_STARTUP_VERSION").is_none() {
        env.set("HAPROXY_STARTUP_VERSION", version_only());
    }
    // Also under -c, so that the check reads the same `.if` branches as the start.
    if inv.master_worker {
        env.set("HAPROXY_MWORKER", "1");
    }
    let peer = inv.local_peer.clone().unwrap_or_else(hostname);
    env.set("HAPROXY_LOCALPEER", peer);
}

/// Defines the log-format variables for the reading of the configuration.
pub fn set_log_formats(env: &mut Environment) {
    for (name, value) in LOG_FORMATS {
        env.set(*name, *value);
    }
}

/// Removes them again once the configuration is read, as HAProxy does.
pub fn unset_log_formats(env: &mut Environment) {
    for (name, _) in LOG_FORMATS {
        env.unset(name);
    }
}

/// `HAPROXY_CFGFILES`: the files loaded, joined by `;`.
pub fn set_config_files<'a>(env: &mut Environment, names: impl IntoIterator<Item = &'a str>) {
    env.set(
        "HAPROXY_CFGFILES",
        names.into_iter().collect::<Vec<_>>().join(";"),
    );
}

/// Makes the variables the reading defined or changed (`HAPROXY_LOCALPEER`,
/// `HAPROXY_CFGFILES`, the global `setenv` family...) variables of the process, as HAProxy
/// does: the `env()` sample fetch reads the process's environment. Call it before any
/// thread starts.
pub fn export(env: &Environment) {
    for name in env.names() {
        let Some(value) = env.get(name) else {
            continue;
        };
        let valid = !name.is_empty() && !name.contains(['=', '\0']) && !value.contains('\0');
        if valid && std::env::var(name).ok().as_deref() != Some(value) {
            std::env::set_var(name, value);
        }
    }
}

/// The host name, HAProxy's default local peer name.
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates when it fits.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return String::new();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(buf.get(..end).unwrap_or_default()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn startup_variables() {
        let mut env = Environment::empty();
        let inv = Invocation {
            master_worker: true,
            local_peer: Some("lb1".into()),
            ..Invocation::default()
        };
        set_startup(&mut env, &inv);
        assert_eq!(env.get("HAPROXY_BRANCH"), Some("3.4"));
        assert_eq!(env.get("HAPROXY_MWORKER"), Some("1"));
        assert_eq!(env.get("HAPROXY_LOCALPEER"), Some("lb1"));
    }

    #[test]
    fn log_formats_exist_only_while_reading() {
        let mut env = Environment::empty();
        set_log_formats(&mut env);
        assert!(env
            .get("HAPROXY_HTTP_LOG_FMT")
            .is_some_and(|v| v.starts_with("%ci:%cp [%tr] %ft")));
        unset_log_formats(&mut env);
        assert_eq!(env.get("HAPROXY_HTTP_LOG_FMT"), None);
    }

    #[test]
    fn export_makes_process_variables() {
        let mut env = Environment::empty();
        env.set("SLUICE_TEST_EXPORTED_PEER", "lb7");
        export(&env);
        assert_eq!(
            std::env::var("SLUICE_TEST_EXPORTED_PEER").as_deref(),
            Ok("lb7")
        );
    }
}
