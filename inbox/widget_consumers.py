from channels.generic.websocket import JsonWebsocketConsumer


class WidgetConsumer(JsonWebsocketConsumer):
    def connect(self):
        self.close()
