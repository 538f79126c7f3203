#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| tls_resumption::fuzzing::client_connection_tls12(data));
