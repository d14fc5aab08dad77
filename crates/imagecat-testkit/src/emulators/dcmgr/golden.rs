//! The 12.03 golden-image parameters: date bounds and sort orders.

use super::*;

/// The 12.03 golden-image parameters: `created_since`/`created_until`
/// (ISO 8601, inclusive; a bad value is 400 with the parameter's name;
/// since after until is 400) and `sort_by=col.asc|col.desc` (`created_at`,
/// `updated_at`, `display_name`; without a direction the real server fails
/// with 500, another column is 400 `DatabaseError`). `Ok(None)` when none is
/// given (the cheap path); otherwise the scope filtered and sorted, ties in
/// the default `id DESC` order (O(scope) per page).
pub(super) fn golden_select(
    params: &HashMap<String, String>,
    scope: impl Iterator<Item = EmulatedImage>,
) -> Result<Option<Vec<EmulatedImage>>, Box<Response>> {
    let time = |key: &str| -> Result<Option<DateTime<Utc>>, Box<Response>> {
        match params.get(key) {
            None => Ok(None),
            Some(v) => DateTime::parse_from_rfc3339(v)
                .map(|t| Some(t.with_timezone(&Utc)))
                .map_err(|_| Box::new(invalid_parameter(key))),
        }
    };
    let since = time("created_since")?;
    let until = time("created_until")?;
    let sort = params.get("sort_by");
    if since.is_none() && until.is_none() && sort.is_none() {
        return Ok(None);
    }
    if let (Some(s), Some(u)) = (since, until) {
        if s >= u {
            return Err(Box::new(invalid_parameter(
                "created_since is larger than created_until",
            )));
        }
    }
    let mut selected: Vec<EmulatedImage> = scope
        .filter(|i| since.is_none_or(|s| i.created_at >= s))
        .filter(|i| until.is_none_or(|u| i.created_at <= u))
        .collect();
    if let Some(sort) = sort {
        let Some((column, dir)) = sort.split_once('.') else {
            return Err(Box::new(api_error(
                500,
                "NoMethodError",
                "undefined method for nil",
                "",
            )));
        };
        let descending = match dir {
            "asc" => false,
            "desc" => true,
            _ => return Err(Box::new(invalid_parameter("sort_by"))),
        };
        let order = |a: &EmulatedImage, b: &EmulatedImage| match column {
            "created_at" => Some(a.created_at.cmp(&b.created_at)),
            "updated_at" => Some(a.updated_at.cmp(&b.updated_at)),
            "display_name" => Some(a.display_name.cmp(&b.display_name)),
            _ => None,
        };
        if !matches!(column, "created_at" | "updated_at" | "display_name") {
            return Err(Box::new(api_error(
                400,
                "DatabaseError",
                "no such column",
                "110",
            )));
        }
        selected.sort_by(|a, b| {
            let o = order(a, b).unwrap_or(std::cmp::Ordering::Equal);
            if descending { o.reverse() } else { o }
        });
    }
    Ok(Some(selected))
}
