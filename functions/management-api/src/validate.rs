//! The input rules, each a small function returning the domain value or a 400 naming the
//! field. Reasons never echo a submitted secret.

use domain::{ConversationId, TenantId};
use httpapi::{ApiError, ApiResult};
use secrets::{ExposeSecret, SecretString};

pub const NAME_MAX_CHARS: usize = 100;
pub const API_KEY_MAX_CHARS: usize = 512;
/// More selectors than this in one route is a mistake, not a filter.
pub const SELECTOR_MAX_ITEMS: usize = 100;
/// Items in a listing's page when `limit` is not given, and the most `limit` may ask for.
pub const PAGE_LIMIT_DEFAULT: u32 = 100;
pub const PAGE_LIMIT_MAX: u32 = 200;

/// A Microsoft Entra tenant id: a GUID, kept lower-case because Teams sends it that way in
/// `channelData.tenant.id` and lookups by tenant must match it.
pub fn tenant_id(raw: &str) -> ApiResult<TenantId> {
    let raw = raw.trim();
    if !is_guid(raw) {
        return Err(ApiError::invalid(
            "tenantId",
            "must be the Microsoft Entra tenant id, a GUID like 72f988bf-86f1-41af-91ab-2d7cd011db47",
        ));
    }
    TenantId::parse(raw.to_ascii_lowercase()).map_err(|e| ApiError::invalid("tenantId", e.reason))
}

fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A connection's display name: 1–100 characters after trimming, no control characters.
pub fn connection_name(raw: &str) -> ApiResult<String> {
    let name = raw.trim();
    let count = name.chars().count();
    if count == 0 || count > NAME_MAX_CHARS {
        return Err(ApiError::invalid("name", format!("must be 1 to {NAME_MAX_CHARS} characters long")));
    }
    if name.chars().any(char::is_control) {
        return Err(ApiError::invalid("name", "must not contain control characters (line breaks, tabs)"));
    }
    Ok(name.to_owned())
}

/// An ilert API key: 1–512 characters after trimming (pasted keys often carry a newline), no
/// whitespace or control characters inside.
pub fn ilert_api_key(raw: &SecretString) -> ApiResult<SecretString> {
    let key = raw.expose_secret().trim();
    let count = key.chars().count();
    if count == 0 || count > API_KEY_MAX_CHARS {
        return Err(ApiError::invalid("ilertApiKey", format!("must be 1 to {API_KEY_MAX_CHARS} characters long")));
    }
    if key.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ApiError::invalid("ilertApiKey", "must not contain spaces or control characters"));
    }
    Ok(SecretString::from(key.to_owned()))
}

pub fn conversation_id(raw: &str) -> ApiResult<ConversationId> {
    ConversationId::parse(raw.trim())
        .map_err(|e| ApiError::invalid("conversationId", format!("is not a Teams conversation id: {}", e.reason)))
}

/// ilert ids (alert sources, escalation policies): positive, at most
/// [`SELECTOR_MAX_ITEMS`]; duplicates are dropped, order kept.
pub fn ilert_ids(field: &str, ids: Vec<i64>) -> ApiResult<Vec<i64>> {
    if let Some(index) = ids.iter().position(|id| *id <= 0) {
        return Err(ApiError::invalid(format!("{field}[{index}]"), "must be a positive ilert id"));
    }
    selectors(field, ids)
}

/// A selector list: at most [`SELECTOR_MAX_ITEMS`], duplicates dropped, order kept.
pub fn selectors<T: PartialEq>(field: &str, items: Vec<T>) -> ApiResult<Vec<T>> {
    if items.len() > SELECTOR_MAX_ITEMS {
        return Err(ApiError::invalid(field, format!("must have at most {SELECTOR_MAX_ITEMS} entries")));
    }
    let mut unique = Vec::with_capacity(items.len());
    for item in items {
        if !unique.contains(&item) {
            unique.push(item);
        }
    }
    Ok(unique)
}

/// Which page of a listing a request asks for.
#[derive(Debug, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u32,
    /// The previous page's `next`, as given: opaque here, only the store can judge it.
    pub cursor: Option<String>,
}

/// A listing's query string: `limit` (1 to [`PAGE_LIMIT_MAX`], default
/// [`PAGE_LIMIT_DEFAULT`]) and `cursor`. Unknown and repeated parameters are refused, so a
/// misspelt one is a 400 instead of a silently ignored page size.
pub fn page_request(params: &[(String, String)]) -> ApiResult<PageRequest> {
    let (mut limit, mut cursor) = (None, None);
    for (name, value) in params {
        let slot = match name.as_str() {
            "limit" => &mut limit,
            "cursor" => &mut cursor,
            _ => return Err(ApiError::invalid(name.as_str(), "is not a parameter of this listing (limit, cursor)")),
        };
        if slot.replace(value.as_str()).is_some() {
            return Err(ApiError::invalid(name.as_str(), "must be given at most once"));
        }
    }
    let limit =
        match limit {
            None => PAGE_LIMIT_DEFAULT,
            Some(raw) => raw.parse::<u32>().ok().filter(|n| (1..=PAGE_LIMIT_MAX).contains(n)).ok_or_else(|| {
                ApiError::invalid("limit", format!("must be a whole number from 1 to {PAGE_LIMIT_MAX}"))
            })?,
        };
    Ok(PageRequest { limit, cursor: cursor.map(str::to_owned) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(e: ApiError) -> String {
        e.field().unwrap_or_default().to_owned()
    }

    #[test]
    fn tenant_ids_are_lower_case_guids() {
        assert_eq!(
            tenant_id(" 72F988BF-86F1-41AF-91AB-2D7CD011DB47 ").unwrap().as_str(),
            "72f988bf-86f1-41af-91ab-2d7cd011db47"
        );
        for bad in
            ["", "contoso.onmicrosoft.com", "72f988bf86f141af91ab2d7cd011db47", "72f988bf-86f1-41af-91ab-2d7cd011db4g"]
        {
            assert_eq!(field(tenant_id(bad).unwrap_err()), "tenantId", "{bad}");
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(connection_name("  Contoso  ").unwrap(), "Contoso");
        assert_eq!(connection_name(&"ü".repeat(100)).unwrap().chars().count(), 100);
        for bad in [String::new(), "   ".into(), "ü".repeat(101), "a\nb".into()] {
            assert_eq!(field(connection_name(&bad).unwrap_err()), "name");
        }
    }

    #[test]
    fn api_keys_are_bounded_and_never_echoed() {
        assert_eq!(ilert_api_key(&SecretString::from("il1api-abc\n")).unwrap().expose_secret(), "il1api-abc");
        for bad in ["", " ", "a b", &"k".repeat(513)] {
            let e = ilert_api_key(&SecretString::from(bad)).unwrap_err();
            assert_eq!(field(e), "ilertApiKey");
        }
        let e = ilert_api_key(&SecretString::from("secret with-space")).unwrap_err();
        assert!(!e.public_message().contains("secret with-space"));
    }

    #[test]
    fn ids_are_positive_and_deduplicated() {
        assert_eq!(ilert_ids("alertSourceIds", vec![7, 3, 7]).unwrap(), vec![7, 3]);
        assert_eq!(field(ilert_ids("alertSourceIds", vec![7, 0]).unwrap_err()), "alertSourceIds[1]");
        assert_eq!(field(ilert_ids("alertSourceIds", (1..=101).collect()).unwrap_err()), "alertSourceIds");
    }

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn page_requests_bound_the_limit_and_keep_the_cursor_opaque() {
        assert_eq!(page_request(&[]).unwrap(), PageRequest { limit: 100, cursor: None });
        let page = page_request(&params(&[("cursor", "abc"), ("limit", "200")])).unwrap();
        assert_eq!(page, PageRequest { limit: 200, cursor: Some("abc".into()) });
        assert_eq!(page_request(&params(&[("limit", "1")])).unwrap().limit, 1);
        for bad in ["0", "201", "abc", "", "-1", "1.5", "4294967296"] {
            assert_eq!(field(page_request(&params(&[("limit", bad)])).unwrap_err()), "limit", "{bad}");
        }
        assert_eq!(field(page_request(&params(&[("limit", "5"), ("limit", "6")])).unwrap_err()), "limit");
        assert_eq!(field(page_request(&params(&[("limt", "5")])).unwrap_err()), "limt");
    }
}
