from channels.generic.websocket import JsonWebsocketConsumer


class AgentConsumer(JsonWebsocketConsumer):
    def connect(self):
        self.close()
