//! `sluice`: HAProxy's command line in front of Sluice's configuration checker.

fn main() {
    let argv: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    std::process::exit(sluice::main_with(&argv));
}
