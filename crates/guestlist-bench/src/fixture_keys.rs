//! Throwaway keys for the benchmark's own identity provider (made once with PyJWT's
//! `cryptography`): the bench serves their JWKS and signs RS256 and ES256 tokens with
//! them, to measure what verifying a provider's token costs per request. They guard
//! nothing: never trust them anywhere.

pub const JWKS: &str = r#"{"keys": [{"kty": "RSA", "key_ops": ["verify"], "n": "wxB9i-ADEDUQwmnjaCa1RASPJOlvD0DghcdH12rMjRETrwg1FpSrH1xKhfZq8gmN31jBExvME6j9YMfd5eJYI3J_rxQNI9SP1rZ1oadhDTjyitSNVxbso-Z5L-tRBgKyBai3gli7UxusWkHOcTZ9sXr4dLtsDpXdHXyYL-R10L7ugQOIjp91mVmaAoxYiI-2GByM4r2WwayK8brkrEZ7NIyHFSgrmWQdrHP2dQmmo_LWa8HIfCArJkcsTzulfJAR4PwhAqGzaH3mIDwxNpTRKlLNLp9Qf2ebQxYF54uOdqdmQZ47H994_P4zjn3KSInQ3XPq0ojvsuQXi5KPaHsxdw", "e": "AQAB", "kid": "bench-rs", "use": "sig", "alg": "RS256"}, {"kty": "EC", "crv": "P-256", "x": "hCKtoXd3QY5hjh6GgY9L7eozP3sIUmDTYZhnB8M2fYY", "y": "m-Ey9MNf83bR57bQxpVKhXtGZIZxMdJQvPhCkk9QjtY", "kid": "bench-es", "use": "sig", "alg": "ES256"}]}"#;

pub const RS256_KID: &str = "bench-rs";
pub const RS256_PEM: &str = r#"-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDDEH2L4AMQNRDC
aeNoJrVEBI8k6W8PQOCFx0fXasyNEROvCDUWlKsfXEqF9mryCY3fWMETG8wTqP1g
x93l4lgjcn+vFA0j1I/WtnWhp2ENOPKK1I1XFuyj5nkv61EGArIFqLeCWLtTG6xa
Qc5xNn2xevh0u2wOld0dfJgv5HXQvu6BA4iOn3WZWZoCjFiIj7YYHIzivZbBrIrx
uuSsRns0jIcVKCuZZB2sc/Z1Caaj8tZrwch8ICsmRyxPO6V8kBHg/CECobNofeYg
PDE2lNEqUs0un1B/Z5tDFgXni452p2ZBnjsf33j8/jOOfcpIidDdc+rSiO+y5BeL
ko9oezF3AgMBAAECggEAKFQo+LnMOFYYTHGS/A4ArPraU3HVrcwmf1IXptBkUQgG
T0o9m5kKFhZBLBgpvTe/dr1FUbuOAkSOeitoU6ZrvYxnHJ3jJ5TDVktr34uY86Bh
+NUAEdDiBPLZ/E/E9R6qiqP6qL7Kn+CZTiHL2jk/XGnFo3C6YvuV9woy9rffqdPr
CYlO8NpNNId7wI9z11U6klPwTa9dOF2i4OyqbAM9VRMH0ce0QHlAm7R+K13/D5w3
ovs4CT88XVVY4lug9y8hUwU4PPVQXyzgvLT5PQSKHcAickZoDhxGNy+0APyw+AHX
1IFzs4eNZShnSlmVuzgEeohtRkasSDnpG7tHRkVlcQKBgQDynwsnuY2NHZeEpI/g
PnUKF57LENKHkndplkZz3fyeAQObdRmALZunW1Gm0L6FUyWzJ2JTNbI+/RDs4jUU
/TutG57hlnQKAmhjZCjHkEBg62uv/suBrFr39l+ry4Z8exNJ4Ojmrm8laX1E4PXp
wbZlr/vt4lVeMMHF9o6cFWjncQKBgQDN0hylJhmzYGCr98bmENrhEFLunVV606ub
pT5I6I6hbNn3hbp/ZTeoz6Ts7zHB3NreaiwkfIHmhRjrr2iKfiM2lR5O2I0zatcs
MMc0v2Crak5pWVbu7Km5KQ+8A1AIIqd9SU2b6xS7Nqnzld5omkqFTn8kl6D7CnoJ
JoSRsyvDZwKBgQC9Pr8lwj8eNlnMVcv/3tfOAnSS8lE0/FL2YggcMqfr2uCkbqdw
aqLB3KII20PwnNWIM40nWHfrV9vO2fcLoybcNPIuBfwHHq+r7yE74FHHB3qc8cJt
KDJgvaUMTJlfGWUHOE6SOLdrWCglBM/sAHQ0RxvcBrIN4TwUHOhJ6Q1FkQKBgDDj
erhjv3ETMINInK8jS8pwBTL2nkpJoxaafpv02YRQhcm8sxr1oO3xPJynCGujGT4B
fDDCflySOuQoyy0yXwzlCMjzuT6AX1H42CiYWM7+tldhyDuCbaI0ta8UHluAV8Zz
tgKWKVt61Y2tiKHSHGdjyOGZPrzCtVAdHRo6s+d7AoGAIPjAJYkrg4deads3h3h0
vUBw16sGgpr968kDBFZSRAbkwKRwhgZTTA8bDk6keYJPJGFJzGmKBOBheJ6Hk/wG
RUY0NQ1nu3dHYgJgz4G6/k1OuOJWUbyVbHjcj68qGy5VOhNyvuRL5qV6zU0RiKPk
0j6AzqYdenlOb2SQnGv7sKY=
-----END PRIVATE KEY-----
"#;

pub const ES256_KID: &str = "bench-es";
pub const ES256_PEM: &str = r#"-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg7KkJRRFTa4/paZgu
yP3k5h5uTM/V+BKid9GTJpeLTiGhRANCAASEIq2hd3dBjmGOHoaBj0vt6jM/ewhS
YNNhmGcHwzZ9hpvhMvTDX/N20ee20MaVSoV7RmSGcTHSULz4QpJPUI7W
-----END PRIVATE KEY-----
"#;
