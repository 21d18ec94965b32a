<?xml version="1.0" encoding="UTF-8"?>
<!--
  Syndicate: turns an RSS 2.0 or Atom 1.0 feed opened in a browser into a readable page that
  explains what a feed is and lists its items. Readers ignore it; only browsers apply it.
  One stylesheet for both formats: each template matches either rss/channel or atom:feed.
-->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:atom="http://www.w3.org/2005/Atom"
    xmlns:media="http://search.yahoo.com/mrss/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    exclude-result-prefixes="atom media dc">
  <xsl:output method="html" version="5.0" encoding="UTF-8" indent="yes" doctype-system="about:legacy-compat"/>

  <xsl:variable name="title" select="/rss/channel/title | /atom:feed/atom:title"/>
  <xsl:variable name="subtitle" select="/rss/channel/description | /atom:feed/atom:subtitle"/>
  <xsl:variable name="home" select="/rss/channel/link | /atom:feed/atom:link[@rel='alternate']/@href"/>
  <xsl:variable name="self" select="/rss/channel/atom:link[@rel='self']/@href | /atom:feed/atom:link[@rel='self']/@href"/>
  <xsl:variable name="lang" select="/rss/channel/language | /atom:feed/@xml:lang"/>
  <!-- Right-to-left languages (the primary subtag of fa, ar, he, ur, ps, ckb, yi, dv, sd, ug). -->
  <xsl:variable name="primary" select="translate(substring-before(concat($lang, '-'), '-'), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"/>
  <xsl:variable name="dir">
    <xsl:choose>
      <xsl:when test="contains(' fa ar he iw ur ps ckb yi dv sd ug ', concat(' ', $primary, ' '))">rtl</xsl:when>
      <xsl:otherwise>ltr</xsl:otherwise>
    </xsl:choose>
  </xsl:variable>

  <xsl:template match="/">
    <html lang="{$lang}" dir="{$dir}">
      <head>
        <meta charset="utf-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <meta name="robots" content="noindex"/>
        <title><xsl:value-of select="$title"/> (web feed)</title>
        <link rel="stylesheet" href="/static/feed.css"/>
      </head>
      <body>
        <!-- The explanation is English whatever the feed's language: marked so, it reads left to right. -->
        <section class="about" lang="en" dir="ltr">
          <h2>This is a web feed</h2>
          <p>You are looking at a <strong>news feed</strong> (also called an RSS or Atom feed): a list of the
            newest articles that feed readers check for you. To follow
            <strong><xsl:value-of select="$title"/></strong>, copy this address into your feed reader
            (for example NetNewsWire, Feedly, Inoreader, Thunderbird or newsboat):</p>
          <p><code><xsl:value-of select="$self"/></code></p>
          <p>New to feeds? Visit <a href="https://aboutfeeds.com/">aboutfeeds.com</a>.
            Or go back to <a href="{$home}">the website</a>.</p>
        </section>
        <header>
          <h1><xsl:value-of select="$title"/></h1>
          <p class="subtitle"><xsl:value-of select="$subtitle"/></p>
        </header>
        <ol>
          <xsl:apply-templates select="/rss/channel/item | /atom:feed/atom:entry"/>
        </ol>
        <nav class="paging">
          <xsl:for-each select="/rss/channel/atom:link[@rel!='self' and @rel!='hub'] | /atom:feed/atom:link[@rel!='self' and @rel!='hub' and @rel!='alternate']">
            <a href="{@href}"><xsl:value-of select="@rel"/></a>
          </xsl:for-each>
        </nav>
      </body>
    </html>
  </xsl:template>

  <xsl:template match="item">
    <li>
      <h3><a href="{link}"><xsl:value-of select="title"/></a></h3>
      <div class="meta">
        <xsl:value-of select="pubDate"/>
        <xsl:if test="dc:creator"> · <xsl:value-of select="dc:creator"/></xsl:if>
      </div>
      <p><xsl:value-of select="description"/></p>
    </li>
  </xsl:template>

  <xsl:template match="atom:entry">
    <li>
      <h3><a href="{atom:link[@rel='alternate']/@href}"><xsl:value-of select="atom:title"/></a></h3>
      <div class="meta">
        <xsl:value-of select="substring(atom:published, 1, 10)"/>
        <xsl:if test="atom:author/atom:name"> · <xsl:value-of select="atom:author/atom:name"/></xsl:if>
      </div>
      <p><xsl:value-of select="atom:summary"/></p>
    </li>
  </xsl:template>
</xsl:stylesheet>
