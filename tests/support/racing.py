"""A filter that lets a client act just before a tool's write goes on, for
tests of what wins when a client and a background rewrite race."""


class RaceFirst:
    """Before passing a PUT on, run ``client_action`` (a client's write)."""

    def __init__(self, app, client_action):
        self.app = app
        self.client_action = client_action

    def __call__(self, environ, start_response):
        if environ["REQUEST_METHOD"] == "PUT":
            self.client_action()
        return self.app(environ, start_response)
