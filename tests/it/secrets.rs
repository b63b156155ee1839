//! Secrets never appear in output: not the lines of files named with
//! `--include` that carry a credential (an nginx include's lookup
//! password, localconfig.xml's passwords), in any output format, and such
//! a line is never rewritten.

use crate::support::lab::*;

const NGINX: &str = "/etc/myproxy/lookup.conf";

fn lab_with_include() -> Lab {
    let lab = Lab::new();
    let p = lab.host(NGINX);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(
        &p,
        "zm_lookup {\n    zm_lookup_handlers https://172.20.14.25:7072/service/extension/nginx-lookup;\n    zm_lookup_master_auth_password \"FAKE@172.20.14.25!proxy\";\n}\n",
    )
    .unwrap();
    lab
}

#[test]
fn include_never_shows_or_rewrites_a_line_carrying_a_credential() {
    let lab = lab_with_include();
    let lc = "/opt/zimbra/conf/localconfig.xml";
    for format in ["text", "json", "markdown"] {
        let out = Zmreip::new([
            "plan",
            "--from",
            "172.20.14.25/24",
            "--to",
            "10.40.7.131/24",
        ])
        .root(lab.root())
        .ldif(lab.ldif())
        .args(["--include", NGINX, "--include", lc, "--format", format])
        .ok();
        assert!(!out.all().contains("FAKE@"), "{format}: {}", out.all());
        assert!(
            out.all().contains("secret-line-unchanged"),
            "{format}: {}",
            out.all()
        );
    }
    let out = Zmreip::new(["scan", "--ip", "172.20.14.25", "--format", "json"])
        .root(lab.root())
        .ldif(lab.ldif())
        .args(["--include", NGINX])
        .ok();
    assert!(!out.all().contains("FAKE@"), "{}", out.all());

    // Applied: the handler moves, the password line stays as it was.
    let plan = lab.path().join("include-plan.json");
    Zmreip::new([
        "plan",
        "--from",
        "172.20.14.25/24",
        "--to",
        "10.40.7.131/24",
    ])
    .root(lab.root())
    .ldif(lab.ldif())
    .args(["--include", NGINX, "--out", plan.to_str().unwrap()])
    .ok();
    let out = lab.apply(&plan).ok();
    assert!(!out.all().contains("FAKE@"), "{}", out.all());
    let text = std::fs::read_to_string(lab.host(NGINX)).unwrap();
    assert!(text.contains("https://10.40.7.131:7072/"), "{text}");
    assert!(text.contains("\"FAKE@172.20.14.25!proxy\""), "{text}");
}
