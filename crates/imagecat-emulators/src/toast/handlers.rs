//! The TOAST emulator's axum handlers: list, delete, tokens, unknown routes.

use super::*;

// ---------------------------------------------------------------- handlers

pub(super) type Pairs = Query<Vec<(String, String)>>;
/// A captured path segment, or why it did not parse.
pub(super) type PathArg = Result<Path<String>, axum::extract::rejection::PathRejection>;
/// The query pairs, or why they did not parse.
pub(super) type QueryArg = Result<Pairs, axum::extract::rejection::QueryRejection>;
/// What an image handler takes: the state, the path, the query, the headers.
pub(super) type ImageArgs = (State<Arc<Emu>>, PathArg, QueryArg, HeaderMap);

/// The single value of a query parameter; `Err` when repeated.
pub(super) fn single<'a>(pairs: &'a [(String, String)], name: &str) -> Result<Option<&'a str>, ()> {
    let mut found = pairs
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str());
    let first = found.next();
    if found.next().is_some() {
        return Err(());
    }
    Ok(first)
}

pub(super) fn is_uuid(text: &str) -> bool {
    text.len() == 36 && uuid::Uuid::try_parse(text).is_ok()
}

pub(super) async fn list_images((State(emu), path, query, headers): ImageArgs) -> Response {
    emu.image_requests.bump();
    let mut state = emu.lock();
    let response = list_answer(&emu, &mut state, path, query, &headers);
    if let Some(churn) = emu.config.churn {
        emu.churn(&mut state, churn);
    }
    response
}

/// The answer to one list request (the state is locked).
pub(super) fn list_answer(
    emu: &Emu,
    state: &mut Store,
    path: PathArg,
    query: QueryArg,
    headers: &HeaderMap,
) -> Response {
    if let Some(c) = state.canned_images.pop_front() {
        return c.into_response();
    }
    let Ok(Path(appkey)) = path else {
        return failure(-3, "Permission denied : invalid appkey");
    };
    if let Some(refused) = emu.check_auth(state, &appkey, headers) {
        return refused;
    }
    let Ok(Query(pairs)) = query else {
        return failure(-4, "Invalid parameters : query");
    };
    let limit = match single(&pairs, "limit") {
        Err(()) => return failure(-4, "Invalid parameters : limit"),
        Ok(None) => emu.config.default_limit,
        Ok(Some(text)) => match text.trim().parse::<i64>() {
            Ok(n) if n >= 0 => (n as u64).min(emu.config.max_limit as u64) as usize,
            Ok(_) => return failure(-4, "Invalid parameters : limit param must be positive"),
            Err(_) => return failure(-4, "Invalid parameters : limit param must be an integer"),
        },
    };
    let marker = match single(&pairs, "marker") {
        Err(()) => return failure(-4, "Invalid parameters : marker"),
        Ok(m) => m.map(str::to_ascii_lowercase),
    };
    let start = match (&marker, emu.config.ignore_marker) {
        (None, _) | (Some(_), true) => Start::First,
        (Some(m), false) => {
            if !is_uuid(m) {
                return failure(30400, "Invalid marker format");
            }
            let Some((key, seeded)) = emu.key_of(state, m) else {
                emu.stale_markers.fetch_add(1, Ordering::SeqCst);
                return failure(30400, "Invalid marker. Image could not be found.");
            };
            Start::Marker {
                key,
                seeded,
                inclusive: emu.config.marker == MarkerMode::Inclusive,
            }
        }
    };
    // Serialise under the lock: the rows borrow the overlay.
    let rows = emu.page(state, &start, limit);
    let body = serde_json::to_vec(&ListBody {
        header: SUCCESS,
        images: Rows { emu, rows },
    })
    .unwrap_or_default();
    json_bytes_response(200, body)
}

pub(super) async fn delete_image((State(emu), path, query, headers): ImageArgs) -> Response {
    emu.image_requests.bump();
    let mut state = emu.lock();
    if let Some(c) = state.canned_images.pop_front() {
        return c.into_response();
    }
    let Ok(Path(appkey)) = path else {
        return failure(-3, "Permission denied : invalid appkey");
    };
    if let Some(refused) = emu.check_auth(&state, &appkey, &headers) {
        return refused;
    }
    let Ok(Query(pairs)) = query else {
        return failure(-4, "Invalid parameters : id");
    };
    let id = match single(&pairs, "id") {
        Ok(Some(id)) if is_uuid(id) => id.to_ascii_lowercase(),
        _ => return failure(-4, "Invalid parameters : id"),
    };
    let not_found = || failure(30404, &format!("Image with identifier {id} not found"));
    let (is_public, protected) = if let Some(index) = emu.live_seeded(&state, &id) {
        let s = Seeded::new(emu.config.seed, index);
        (s.is_public(), s.protected())
    } else if let Some(img) = state.inserted.iter().find(|i| i.id == id) {
        (img.is_public, img.protected)
    } else {
        return not_found();
    };
    if protected {
        return failure(30403, "Image is protected");
    }
    if is_public {
        return failure(30403, "Forbidden to delete image: a public image");
    }
    if let Some(index) = emu.live_seeded(&state, &id) {
        state.deleted.insert(index);
    } else {
        state.inserted.retain(|i| i.id != id);
    }
    success()
}

pub(super) async fn issue_token(
    State(emu): State<Arc<Emu>>,
    path: PathArg,
    body: Bytes,
) -> Response {
    let mut state = emu.lock();
    if let Some(c) = state.canned_tokens.pop_front() {
        return c.into_response();
    }
    match path {
        Ok(Path(appkey)) if appkey == emu.config.appkey => {}
        _ => return failure(-3, "Permission denied : invalid appkey"),
    }
    let Ok(request) = serde_json::from_slice::<TokenRequest>(&body) else {
        return failure(-8, "JSON parsing error");
    };
    let Some(TokenAuth {
        username: Some(username),
        password: Some(password),
    }) = request.auth
    else {
        return failure(-4, "Invalid parameters : auth.username, auth.password");
    };
    if username != emu.config.username || password != emu.config.password {
        return failure(50401, "The request you have made requires authentication.");
    }
    state.issued += 1;
    let id = format!(
        "{:016x}{:016x}",
        splitmix64(emu.config.seed ^ 0x0074_6F6B_656E),
        splitmix64(state.issued ^ emu.config.seed.rotate_left(17))
    );
    let now = Utc::now();
    let ttl = chrono::Duration::from_std(emu.config.token_ttl).unwrap_or(chrono::Duration::MAX);
    let expires = now
        .checked_add_signed(ttl)
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    let deadline = Instant::now()
        .checked_add(emu.config.token_ttl)
        .unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400 * 365 * 100));
    state.tokens.insert(id.clone(), deadline);
    let expires = expires.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    state
        .token_docs
        .insert(id.clone(), (expires.clone(), micros_of(&now)));
    token_answer(&id, expires, micros_of(&now))
}

/// `GET …/tokens?id=`: an issued token that has not expired is described
/// as when it was issued; a missing id is `-4`, an unknown or expired one
/// `50404` (Keystone's 404, in the token API's family; the id is not
/// echoed).
pub(super) async fn look_up_token(
    State(emu): State<Arc<Emu>>,
    path: PathArg,
    query: QueryArg,
) -> Response {
    let state = emu.lock();
    match path {
        Ok(Path(appkey)) if appkey == emu.config.appkey => {}
        _ => return failure(-3, "Permission denied : invalid appkey"),
    }
    let pairs = query.map(|Query(p)| p).unwrap_or_default();
    let Ok(Some(id)) = single(&pairs, "id") else {
        return failure(-4, "Invalid parameters : id");
    };
    let alive = state
        .tokens
        .get(id)
        .is_some_and(|deadline| Instant::now() < *deadline);
    match state.token_docs.get(id).filter(|_| alive) {
        Some((expires, issued)) => token_answer(id, expires.clone(), *issued),
        None => failure(50404, "Could not find token."),
    }
}

/// The token API's success answer.
fn token_answer(id: &str, expires: String, issued_micros: i64) -> Response {
    let body = serde_json::to_vec(&TokenBody {
        header: SUCCESS,
        access: TokenAccess {
            token: TokenDoc {
                expires,
                id,
                issued_at: Stamp(issued_micros),
            },
            user: TokenUser {
                id: "436f727b7c9142f896ddd56be591dd7f",
                roles: [TokenRole {
                    name: "project_admin",
                }],
            },
        },
    })
    .unwrap_or_default();
    json_bytes_response(200, body)
}

pub(super) async fn unknown_route() -> Response {
    let body = serde_json::to_vec(&HeaderOnly {
        header: WireHeader {
            is_successful: false,
            result_code: 404,
            result_message: "Please check your API Url, HTTP Method.",
        },
    })
    .unwrap_or_default();
    json_bytes_response(404, body)
}
