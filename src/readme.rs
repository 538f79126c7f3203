//! Compiles and runs the README's Rust blocks as doc tests, so its quick start cannot rot.

#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
