//! HAProxy's command line (spec R1.1-R1.8, tests T1.x): grammar, file list, version texts.

mod common;
use common::{ok_cfg, Dir};

#[test]
fn t1_1_check_of_a_valid_file_is_silent() {
    let dir = Dir::new();
    dir.write("ok.cfg", ok_cfg());
    let run = dir.run(&["-c", "-f", "ok.cfg"]);
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (0, "", "")
    );
}

#[test]
fn t1_2_verbose_check_says_valid() {
    let dir = Dir::new();
    dir.write("ok.cfg", ok_cfg());
    let run = dir.run(&["-c", "-V", "-f", "ok.cfg"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "Configuration file is valid\n");
}

#[test]
fn t1_3_trailing_letters_are_ignored_with_a_warning() {
    let dir = Dir::new();
    dir.write("ok.cfg", ok_cfg());
    let run = dir.run(&["-cV", "-f", "ok.cfg"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr_lines().contains(
            &"[WARNING]  (PID) : option '-cV' was read as '-c'; trailing 'V' ignored".to_string()
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn trailing_letter_warning_does_not_trip_zero_warning() {
    let dir = Dir::new();
    dir.write("ok.cfg", ok_cfg());
    let run = dir.run(&["-cV", "-dW", "-f", "ok.cfg"]);
    assert_eq!(run.code, 0, "{run:?}");
}

#[test]
fn t1_4_no_file_prints_usage() {
    let run = Dir::new().run(&["-c"]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.starts_with("Sluice version "), "{}", run.stdout);
    assert!(run.stderr.starts_with("Usage : "), "{}", run.stderr);
}

#[test]
fn stray_word_prints_usage() {
    let dir = Dir::new();
    dir.write("ok.cfg", ok_cfg());
    let run = dir.run(&["-c", "-f", "ok.cfg", "extra"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.starts_with("Usage : "), "{}", run.stderr);
}

#[test]
fn t1_5_missing_file() {
    let run = Dir::new().run(&["-c", "-f", "/nonexistent.cfg"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr_lines().contains(
        &"[ALERT]    (PID) : Cannot open configuration file/directory /nonexistent.cfg : No such file or directory"
            .to_string()
    ), "{}", run.stderr);
}

#[test]
fn t1_6_directory_loads_cfg_files_in_byte_order() {
    let dir = Dir::new();
    dir.write("conf/20-b.cfg", "global\n    .notice \"b\"\n");
    dir.write("conf/10-a.cfg", "global\n    .notice \"a\"\n");
    dir.write("conf/.hidden.cfg", "global\n    .notice \"hidden\"\n");
    dir.write("conf/40.conf", "global\n    .notice \"conf\"\n");
    let run = dir.run(&["-c", "-f", "conf"]);
    let notices: Vec<String> = run
        .stderr_lines()
        .into_iter()
        .filter(|l| l.starts_with("[NOTICE]") && l.contains("parsing ["))
        .collect();
    assert_eq!(
        notices,
        [
            "[NOTICE]   (PID) : config : parsing [conf/10-a.cfg:2]: 'a'.",
            "[NOTICE]   (PID) : config : parsing [conf/20-b.cfg:2]: 'b'.",
        ],
        "{}",
        run.stderr
    );
}

#[test]
fn double_dash_and_change_dir() {
    let dir = Dir::new();
    dir.write("sub/ok.cfg", ok_cfg());
    let run = dir.run(&["-C", "sub", "-c", "-V", "--", "ok.cfg"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "Configuration file is valid\n");
}

#[test]
fn config_from_stdin() {
    let dir = Dir::new();
    let run = dir.run_with_stdin(&["-c", "-V", "-f", "/dev/stdin"], Some(ok_cfg()));
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "Configuration file is valid\n");
}

#[test]
fn t1_7_bad_pid_list() {
    let run = Dir::new().run(&["-sf", "abc"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr_lines().contains(
            &"[ALERT]    (PID) : -sf option: some bytes unconsumed in PID list {abc}".to_string()
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn empty_pid_list_is_allowed() {
    let dir = Dir::new();
    dir.write("ok.cfg", ok_cfg());
    let run = dir.run(&["-sf", "-c", "-V", "-f", "ok.cfg"]);
    assert_eq!(run.code, 0, "{run:?}");
}

#[test]
fn t1_8_master_cli_needs_master_worker() {
    let dir = Dir::new();
    dir.write("ok.cfg", ok_cfg());
    let run = dir.run(&["-S", "/tmp/x.sock", "-f", "ok.cfg"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr_lines().contains(
        &"[ALERT]    (PID) : a master CLI socket was defined, but master-worker mode (-W) is not enabled."
            .to_string()
    ), "{}", run.stderr);
    // Also with -c, and without the "Fatal errors" summary.
    let run = dir.run(&["-c", "-S", "/tmp/x.sock", "-f", "ok.cfg"]);
    assert_eq!(run.code, 1);
    assert!(!run.stderr.contains("Fatal errors"), "{}", run.stderr);
}

#[test]
fn master_cli_bad_option_is_refused_before_anything() {
    let dir = Dir::new();
    dir.write("ok.cfg", ok_cfg());
    let run = dir.run(&["-W", "-S", "/tmp/x.sock,levle,admin", "-f", "ok.cfg"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr_lines()
            .into_iter()
            .filter(|l| l.starts_with("[ALERT]"))
            .collect::<Vec<_>>(),
        [
            "[ALERT]    (PID) : '/tmp/x.sock levle' : unknown keyword 'levle'. Did you mean 'level' maybe ?",
            "[ALERT]    (PID) : Can't create the master's CLI.",
        ]
    );
}

#[test]
fn t1_9_quiet_versions_are_one_line_each() {
    let dir = Dir::new();
    for (flag, expected) in [("-vqs", "3.4.0\n"), ("-vqb", "3.4\n")] {
        let run = dir.run(&[flag]);
        assert_eq!((run.code, run.stdout.as_str()), (0, expected));
    }
    let run = dir.run(&["-vq"]);
    assert_eq!(run.code, 0);
    assert_eq!(run.stdout.lines().count(), 1);
    assert!(run.stdout.starts_with("3.4.0-sluice-"), "{}", run.stdout);
}

#[test]
fn vv_lists_features() {
    let run = Dir::new().run(&["-vv"]);
    assert_eq!(run.code, 0);
    let features = run
        .stdout
        .lines()
        .find(|l| l.starts_with("Feature list : "))
        .unwrap_or_default();
    assert!(features.contains("+THREAD"), "{}", run.stdout);
    assert!(features.contains("-OPENSSL"), "{}", run.stdout);
}

#[test]
fn help_documents_our_options() {
    let run = Dir::new().run(&["--help"]);
    assert_eq!(run.code, 0);
    for option in [
        "--json",
        "--diag-format=text|rich|json",
        "--check-env=strict|warn|off",
        "-vqb",
    ] {
        assert!(run.stdout.contains(option), "{option} missing from --help");
    }
}

#[test]
fn unknown_long_option_prints_usage() {
    let run = Dir::new().run(&["--nope", "-f", "x.cfg"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("unknown option '--nope'"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("Usage : "));
}

#[test]
fn numeric_options_are_checked() {
    let dir = Dir::new();
    dir.write("ok.cfg", ok_cfg());
    let run = dir.run(&["-c", "-n", "many", "-f", "ok.cfg"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("'-n' expects a number"),
        "{}",
        run.stderr
    );
}
