//! Every template rendered with hostile values: nothing a user, a host or an admin
//! typed reaches the page as markup.

use minijinja::context;

use super::*;

const HOSTILE: &str = "<img src=x onerror=alert(1)>\"'><script>alert(2)</script>{{7*7}}";

fn pages() -> Pages {
    Pages::new(PagesConfig::default(), "http://127.0.0.1:7700").expect("the built-in pages load")
}

fn signed_in() -> Visitor {
    Visitor {
        actor: Some(Actor::User {
            id: guestlist_app::domain::UserId::parse("ada").unwrap(),
            email: Some(HOSTILE.into()),
            email_verified: true,
            username: None,
            platform_admin: false,
        }),
        token: Some(Secret::new("t")),
        ip: IpAddr::from([127, 0, 0, 1]),
    }
}

/// Each template with every value it shows set to [`HOSTILE`].
fn contexts() -> Vec<(&'static str, Value)> {
    let h = HOSTILE;
    let invite = context! {
        space => h, space_name => h, inviter => h, member_count => 3, role => h,
        expires => h, uses_left => 2,
    };
    let invitation = context! {
        space => h, space_name => h, role => h, inviter => h, email => h, username => h,
        message => h, expires => h, status => "pending",
    };
    let mut all = vec![
        ("landing.html", context! { invite, code => h }),
        (
            "problem.html",
            context! { code => "invalid_input", detail => h },
        ),
        (
            "problem.html",
            context! { code => h, detail => None::<String> },
        ),
        (
            "signup.html",
            context! { valid => true, inviter => h, email => h, continue_url => h },
        ),
        (
            "signup.html",
            context! { valid => false, inviter => None::<String>, email => None::<String>, continue_url => None::<String> },
        ),
        ("leave.html", context! { space => h }),
        (
            "sign_in.html",
            context! { state => h, error => h, user => h, email => h },
        ),
        ("signed_out.html", context! {}),
        (
            "me.html",
            context! {
                notice => "left",
                invitations => vec![context! { id => h, space => h, role => h, inviter => h, expires => h }],
                adds => vec![context! { id => h, space => h, role => h }],
                requests => vec![context! { id => h, space => h, role => h, since => h }],
                memberships => vec![context! { space => h, space_q => h, role => h, source => "owner_add", since => h }],
                more_spaces => true,
                referrals => context! { invited => 1, joined => 1, pending => 0, people => vec![context! { user => h, since => h }] },
            },
        ),
    ];
    // The console: every page with a space's tabs and hostile values everywhere.
    let nav = context! { path => h, q => h, tab => "invites" };
    let console =
        |ctx: Value| context! { nav => nav.clone(), platform => true, notice => "saved", ..ctx };
    let invite = context! {
        id => h, space => h, role => h, state => "active", uses => 1, max_uses => 2,
        creator => h, expires => h, description => h, requires_approval => false,
        funnel => context! { views => 3, sign_ins => 2, joins => 1, requests => 0 },
    };
    all.extend([
        ("console/home.html", console(context! {
            spaces => vec![context! { depth => 1, path => h, q => h, name => h, members => 1, limit => 5, join_mode => "open" }],
            more => true,
        })),
        ("console/space.html", console(context! {
            space => context! { name => h, members => 1, limit => None::<u32>, join_mode => "request" },
            roles => vec![context! { name => h, permissions => vec![h] }],
            children => vec![context! { path => h, q => h, name => h, members => 0 }],
            all_permissions => vec!["read", "admin"],
            join_modes => vec!["open", "invite_only", "request"],
        })),
        ("console/invites.html", console(context! {
            invites => vec![invite.clone()], next => h,
            filter => context! { state => "active", created_by => h },
            roles => vec![h, "member"], states => vec!["active", "revoked"],
        })),
        ("console/invite_link.html", console(context! { link => h, invite => invite.clone(), created => true })),
        ("console/confirm.html", console(context! { what => "remove_member", action => h, back => h, subject => h, hidden => None::<u8> })),
        ("console/confirm.html", console(context! { what => "deprovision", action => h, back => h, subject => h, hidden => context! { name => "user", value => h } })),
        ("console/confirm.html", console(context! { what => "revoke_subtree", action => h, back => h, subject => h, hidden => context! { name => "root", value => h } })),
        ("console/confirm.html", console(context! { what => "revoke_invitation", action => h, back => h, subject => h, hidden => None::<u8> })),
        ("console/invitations.html", console(context! {
            invitations => vec![context! {
                id => h, space => h, whom => h, role => h, status => "pending", pending => true,
                delivery => "failed", attempts => 3, last_error => h, sends => 1, expires => h, inviter => h,
            }],
            next => h, status => "pending", statuses => vec!["pending"], roles => vec![h],
        })),
        ("console/bulk.html", console(context! {
            dry_run => true, ok => 1, failed => 1, csv => h, role => h,
            outcomes => vec![
                context! { row => 2, who => h, ok => true, outcome => "invited" },
                context! { row => 3, who => h, ok => false, outcome => "invalid_input", error => h },
            ],
        })),
        ("console/requests.html", console(context! {
            requests => vec![context! { id => h, user => h, email => h, role => h, message => h, since => h, by_link => true }],
            more => false,
        })),
        ("console/members.html", console(context! {
            members => vec![context! { user => h, user_q => h, role => h, source => "owner_add", since => h, by_link => h, brought_by => h }],
            pending => vec![context! { user => h, user_q => h, role => h, source => "owner_add", since => h, by_link => h, brought_by => h }],
            next => h, roles => vec![h],
        })),
        ("console/events.html", console(context! {
            events => vec![context! { seq => 1, kind => h, actor => h, subject => h, space => h, link => h, at => h }],
            next => h, kind => h, by => h, since => h, until => h,
        })),
        ("console/webhooks.html", console(context! {
            webhooks => vec![context! { id => h, url => h, description => h, kinds => h, enabled => false, disabled_reason => h, failing_since => h }],
            kinds => vec![h],
        })),
        ("console/webhook.html", console(context! {
            webhook => context! { id => h, url => h, description => h, kinds => h, enabled => true, disabled_reason => h, failing_since => h },
            deliveries => vec![context! { id => h, seq => 1, kind => h, state => h, created => h, next => h,
                attempts => vec![context! { attempt => 1, status => 500, latency_ms => 3, error => h, response => h }] }],
        })),
        ("console/webhook_secret.html", console(context! {
            webhook => context! { id => h, url => h }, secret => h, created => true,
        })),
        ("console/platform.html", console(context! {
            gate => context! { mode => "capped", invite_only => false, cap => 3, remaining => 2,
                user_invitations => true, user_quota => 5, quota_period_days => 30 },
            invitations => vec![context! { id => h, email => h, invited_by => h, uses => 0, max_uses => 1, state => "active", expires => h }],
            root => h,
            tree => context! { root => h, nodes => vec![context! { user => h, invited_by => h, depth => 2, since => h }] },
            modes => vec!["open", "invite_only", "capped"],
        })),
    ]);
    for outcome in [
        "joined",
        "upgraded",
        "already_member",
        "requested",
        "declined",
    ] {
        all.push((
            "outcome.html",
            context! { outcome, space => h, role => h, continue_url => h },
        ));
    }
    for binding in ["signed_out", "matches", "mismatch", "email_unverified"] {
        all.push((
            "invitation.html",
            context! { invitation => invitation.clone(), binding, token => h, next => h },
        ));
    }
    all
}

#[test]
fn every_template_escapes_every_value() {
    let p = pages();
    let mut rendered = std::collections::BTreeSet::new();
    for (name, ctx) in contexts() {
        for v in [Visitor::anonymous(IpAddr::from([0, 0, 0, 0])), signed_in()] {
            let page = context! { t => p.strings.clone(), visitor => v.view(), csrf => v.csrf(), public_url => h(), ..ctx.clone() };
            let html = p
                .env
                .get_template(name)
                .and_then(|t| t.render(page))
                .unwrap_or_else(|e| panic!("{name}: {e:#}"));
            for raw in ["<img src=x", "<script", "onerror=alert(1)>", "\"'>"] {
                assert!(!html.contains(raw), "{name} shows {raw:?} raw:\n{html}");
            }
            assert!(
                !html.contains("49"),
                "{name} evaluated a template expression in a value"
            );
            if v.actor.is_some() {
                // The header shows the signed-in e-mail on every page.
                assert!(html.contains("&lt;img"), "{name} shows the value, escaped");
            }
            rendered.insert(name);
        }
    }
    let all: std::collections::BTreeSet<_> = TEMPLATES
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| *n != "base.html" && *n != "console/_nav.html")
        .collect();
    assert_eq!(rendered, all, "every page template is covered");
}

fn h() -> &'static str {
    HOSTILE
}

#[test]
fn the_catalogue_covers_every_error_code_the_pages_explain_and_refuses_unknown_keys() {
    let builtin = strings(None).unwrap();
    let errors = builtin["error"].as_table().unwrap();
    for code in [
        "not_found",
        "expired",
        "exhausted",
        "revoked",
        "member_limit_reached",
        "email_mismatch",
        "email_unverified",
        "forbidden",
        "unauthenticated",
        "invalid_input",
        "rate_limited",
        "internal",
    ] {
        assert!(errors.contains_key(code), "no words for {code}");
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("strings.toml"),
        "[landing]\njoin = \"Rejoindre {space}\"\n",
    )
    .unwrap();
    let over = strings(Some(dir.path())).unwrap();
    assert_eq!(over["landing"]["join"].as_str(), Some("Rejoindre {space}"));
    assert_eq!(
        over["landing"]["members"].as_str(),
        Some("Members"),
        "the rest stays"
    );
    std::fs::write(
        dir.path().join("strings.toml"),
        "[landing]\njoin_typo = \"x\"\n",
    )
    .unwrap();
    let err = strings(Some(dir.path())).unwrap_err();
    assert!(
        err.reason.contains("unknown string landing.join_typo"),
        "{err}"
    );
}

#[test]
fn an_operator_template_replaces_the_built_in_one() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("signed_out.html"),
        "{% extends \"base.html\" %}{% block main %}Bye from Acme{% endblock %}",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("assets")).unwrap();
    std::fs::write(dir.path().join("assets/logo.svg"), "<svg>acme</svg>").unwrap();
    let p = Pages::new(
        PagesConfig {
            templates_dir: Some(dir.path().into()),
            ..PagesConfig::default()
        },
        "https://guestlist.example.com/",
    )
    .unwrap();
    let v = Visitor::anonymous(IpAddr::from([0, 0, 0, 0]));
    let page = context! { t => p.strings.clone(), visitor => v.view(), csrf => v.csrf(), public_url => "" };
    let html = p
        .env
        .get_template("signed_out.html")
        .unwrap()
        .render(page)
        .unwrap();
    assert!(html.contains("Bye from Acme"));
    assert_eq!(p.assets["logo.svg"].1, b"<svg>acme</svg>");
    assert!(p.secure, "https: cookies are Secure");

    std::fs::write(dir.path().join("me.html"), "{% if %}").unwrap();
    let broken = Pages::new(
        PagesConfig {
            templates_dir: Some(dir.path().into()),
            ..PagesConfig::default()
        },
        "http://x",
    );
    assert!(
        broken.is_err_and(|e| e.reason.contains("me.html")),
        "a broken template stops the start"
    );
}

#[test]
fn fill_and_encode() {
    let mut env = minijinja::Environment::new();
    env.add_filter("fill", fill);
    let out = env
        .render_str(
            "{{ 'Join {space} by {who}' | fill(space='A&B', who=none) }}",
            (),
        )
        .unwrap();
    assert_eq!(out, "Join A&B by ");
    assert_eq!(encode("acme/eng x?&="), "acme%2Feng%20x%3F%26%3D");
}
