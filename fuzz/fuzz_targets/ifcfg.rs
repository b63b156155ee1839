//! The `ifcfg` surface (RHEL ifcfg files): see the harness for the properties.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zmreip::surface::Surface;

fuzz_target!(|data: &[u8]| harness::file_surface(
    Surface::Ifcfg,
    "/etc/sysconfig/network-scripts/ifcfg-eth0",
    data
));
