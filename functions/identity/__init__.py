"""Identity service: sign-up, sign-in and profiles. Credentials live in Cognito; profiles and
login-throttling counters in the identity table."""
