use std::net::IpAddr;
use url::Url;

/// Parses the base URL of a remote service: https, or plain http only on a loopback host
/// (where the test simulators run). Returns what was expected on failure.
pub fn parse_remote_url(raw: &str) -> Result<Url, &'static str> {
    const EXPECTED: &str = "an absolute https URL (http only for loopback hosts)";
    let url = Url::parse(raw).map_err(|_| EXPECTED)?;
    let host = url.host_str().ok_or(EXPECTED)?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback_host(host) => Ok(url),
        _ => Err(EXPECTED),
    }
}

/// `localhost`, 127.0.0.0/8 and ::1.
pub fn is_loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}
