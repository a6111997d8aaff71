"""Commands over several dumps: `PATH@SNAPSHOT` specs (`dumpspec`), `diff`, `fleet`."""
