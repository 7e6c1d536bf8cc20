"""Federation: Gatehouse as a relying party of upstream OpenID providers ("Sign in with ...")."""
