"""The public web: papers pages, feeds, the JSON API, the web copy of editions, the listing
selectors they share and the sign-up sidebar."""
