//! The `hosts` surface (/etc/hosts): see the harness for the properties.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zmreip::surface::Surface;

fuzz_target!(|data: &[u8]| harness::file_surface(Surface::Hosts, "/etc/hosts", data));
