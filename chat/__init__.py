"""The conversation core: screens and actions defined once, rendered by chat.telegram and chat.slack."""
