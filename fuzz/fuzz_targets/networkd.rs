//! The `networkd` surface (systemd-networkd .network files): see the harness for the properties.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zmreip::surface::Surface;

fuzz_target!(|data: &[u8]| harness::file_surface(
    Surface::Networkd,
    "/etc/systemd/network/10-eth0.network",
    data
));
