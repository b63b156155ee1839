//! The `nmconnection` surface (NetworkManager keyfiles): see the harness for the properties.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zmreip::surface::Surface;

fuzz_target!(|data: &[u8]| harness::file_surface(
    Surface::NmConnection,
    "/etc/NetworkManager/system-connections/eth0.nmconnection",
    data
));
