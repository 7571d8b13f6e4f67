"""Ttadak: the manual high-leverage game bot (BUY GAME / SELL GAME), fast from button to exchange."""
