"""What several concerns share: environment helpers, the guarded downloader, URL signing and
the rule that no transaction stays open across slow work."""
