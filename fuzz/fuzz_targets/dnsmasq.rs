//! The `dnsmasq` surface (dnsmasq.conf): see the harness for the properties.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zmreip::surface::Surface;

fuzz_target!(|data: &[u8]| harness::file_surface(Surface::Dnsmasq, "/etc/dnsmasq.conf", data));
