//! Preferences: saved through the form, every wrong value named next to its field in the
//! reader's language with everything typed kept, and a new language used at once.

use reqwest::StatusCode;

use crate::common::{Backend, ScratchDatabase, Server};
use crate::waitlist::{api, book, hours, person, room};

pub async fn preferences_saved_and_refused(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let server = Server::start(db.url()).await;
    let admin = server.setup_admin().await;
    let (ana, token) = person(&server, "ana", "es").await;
    let booth = room(&server, &admin, "Booth").await;
    let (_, booked) = book(&server, &token, &booth, hours(24), hours(25)).await;
    let (status, html) = ana.get("/preferences").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<h1>Preferencias</h1>") && html.contains("name=\"reminder_minutes\""), "{html}");

    let wrong = [
        ("email", "not-an-address"),
        ("email_notifications", "on"),
        ("reminder_minutes", "99999"),
        ("language", "es"),
        ("theme", "dark"),
        ("time_zone_display", "local"),
        ("time_zone", "Mars/Olympus_Mons"),
    ];
    let r = ana.submit("/preferences", "/preferences", &wrong).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap_or_default();
    for (field, sentence) in [
        ("email", "Escribe una dirección de correo"),
        ("reminder_minutes", "Escribe minutos enteros de 0"),
        ("time_zone", "Escribe una zona horaria IANA"),
    ] {
        let error = format!("<p class=\"field-error\" id=\"{field}-error\">{sentence}");
        assert!(html.contains(&error), "{field}: {html}");
        assert!(
            html.contains(&format!("{field}-error\" aria-invalid=\"true\"")) || html.contains("aria-invalid"),
            "{html}"
        );
    }
    assert!(html.contains("value=\"not-an-address\"") && html.contains("value=\"99999\""), "{html}");
    assert!(html.contains("value=\"Mars/Olympus_Mons\""), "{html}");
    assert!(html.contains("<option value=\"dark\" selected>") && html.contains("value=\"local\" checked"), "{html}");
    let (_, me, _) = api(server.client.get(server.url("/api/v1/users/me")).bearer_auth(&token)).await;
    assert!(me["preferences"].get("reminder_minutes").is_none(), "nothing saved: {me}");

    // The CSRF token is required.
    let mut forged = wrong.to_vec();
    forged.push(("csrf", "forged"));
    assert_eq!(ana.post_raw("/preferences", &forged).await.status(), StatusCode::FORBIDDEN);

    // Right values are saved; the next page speaks the new language.
    let right = [
        ("email", "ana@example.org"),
        ("reminder_minutes", "30"),
        ("language", "fr"),
        ("theme", "dark"),
        ("time_zone_display", "local"),
        ("time_zone", "America/Mexico_City"),
    ];
    let r = ana.submit("/preferences", "/preferences", &right).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap_or_default());
    let (_, html) = ana.get("/preferences?saved=1").await;
    assert!(html.contains("<html lang=\"fr\" data-theme=\"dark\">"), "{html}");
    assert!(html.contains("Vos préférences ont été enregistrées."), "{html}");
    assert!(html.contains("value=\"America/Mexico_City\"") && html.contains("value=\"30\""), "{html}");
    assert!(!html.contains("name=\"email_notifications\" type=\"checkbox\" value=\"on\" checked"), "{html}");
    let (_, me, _) = api(server.client.get(server.url("/api/v1/users/me")).bearer_auth(&token)).await;
    let p = &me["preferences"];
    assert_eq!(
        (
            p["email"].as_str(),
            p["reminder_minutes"].as_i64(),
            p["email_notifications"].as_bool(),
            p["language"].as_str()
        ),
        (Some("ana@example.org"), Some(30), Some(false), Some("fr")),
        "{me}"
    );
    assert_eq!(p["time_zone"], "America/Mexico_City");
    // "In my time zone": the times of a resource are shown in the reader's zone, named.
    let (_, html) = ana.get(&format!("/notifications?min_position={booked}")).await;
    assert!(html.contains("(America/Mexico_City)") && !html.contains("(Europe/Paris)"), "{html}");
}
