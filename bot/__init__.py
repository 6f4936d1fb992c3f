"""匠心点单 diandan-bot: the trade unions' model-worker and craftsman volunteer-service bot."""
