"""The package version, sent in every request's User-Agent."""

VERSION = "0.1.0"
