"""Commands over several dumps: `diff`, `fleet`."""
