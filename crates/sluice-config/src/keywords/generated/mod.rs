//! Tables generated from HAProxy 3.4's manual; see tools/catalogue/extract.py.

#[rustfmt::skip]
pub(super) mod actions;
#[rustfmt::skip]
pub(super) mod global;
#[rustfmt::skip]
pub(super) mod options;
#[rustfmt::skip]
pub(super) mod proxy;
#[rustfmt::skip]
pub(super) mod samples;
#[rustfmt::skip]
pub(super) mod section_removed;
#[rustfmt::skip]
pub(super) mod sections;
