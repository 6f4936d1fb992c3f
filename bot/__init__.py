"""匠心点单 diandan-bot: the chat bot of the trade unions' model-worker and craftsman volunteer service."""
