//! Advisory security warnings (R5.13): running as root without a chroot, or without dropping
//! to another user. HAProxy 3.4 prints them at start; they are knowable at check time.
//! Never counted for `zero-warning`/`-dW` (R4.7). `chroot /` and `uid 0`/`user root` silence
//! them, as in HAProxy 3.4.

use crate::identity::Target;
use crate::report::Report;
use crate::Context;
use sluice_config::{Category, Diagnostic};

pub(crate) fn check(ctx: &Context, target: &Target, report: &mut Report) {
    if !ctx.running.is_root() {
        return;
    }
    let location = ctx.inputs.global_location;
    if ctx.inputs.chroot.is_none() {
        report.env(
            Diagnostic::warning(
                Category::Environment,
                "root-without-chroot",
                "started as root without any 'chroot' directive: the workers can reach the whole filesystem",
            )
            .at_opt(location)
            .help("add `chroot /var/lib/haproxy` (an empty directory owned by root), or `chroot /` to silence this")
            .exempt_from_zero_warning(),
        );
    }
    // An unknown user is reported on its own line; do not add a second message for it.
    if !target.user_set && ctx.inputs.user.is_none() && ctx.inputs.uid.is_none() {
        report.env(
            Diagnostic::warning(
                Category::Environment,
                "root-without-user",
                "started as root without any 'user' or 'uid' directive: the workers keep root privileges",
            )
            .at_opt(location)
            .help("add `user haproxy` and `group haproxy` (`useradd --system haproxy`), or `uid 0` to silence this")
            .exempt_from_zero_warning(),
        );
    }
}
