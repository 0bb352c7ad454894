"""The exit statuses of every ``swiftcrypt`` command: one policy, shown at
the end of each command's --help.

2 is also what argparse exits with on a bad option, so "2" always means
"nothing was done: fix the command line or the config"."""

OK = 0
FAILED = 1  # the command ran, but some of its items failed
USAGE = 2  # bad usage or configuration: nothing was done
INTERRUPTED = 130  # Ctrl-C, as a shell reports SIGINT

POLICY = ("exit status: 0 success; 1 the command ran but something failed "
          "(details on stderr); 2 bad usage or configuration (a wrong option, an "
          "unreadable or invalid config file): nothing was done; 130 interrupted.")


def epilog(details=""):
    """The --help epilog: the policy, then what it means for this command."""
    return POLICY + (" " + details if details else "")
