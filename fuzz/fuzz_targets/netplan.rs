//! The `netplan` surface (netplan YAML): see the harness for the properties.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zmreip::surface::Surface;

fuzz_target!(|data: &[u8]| harness::file_surface(
    Surface::Netplan,
    "/etc/netplan/50-cloud-init.yaml",
    data
));
