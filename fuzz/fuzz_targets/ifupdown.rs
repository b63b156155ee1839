//! The `ifupdown` surface (/etc/network/interfaces): see the harness for the properties.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zmreip::surface::Surface;

fuzz_target!(|data: &[u8]| harness::file_surface(
    Surface::Ifupdown,
    "/etc/network/interfaces",
    data
));
