#!/usr/bin/perl
# Copied from ../shared/tools/dkim/mail_dkim_offline.pl.
# Offline DKIM verify/sign with Debian 12's libmail-dkim-perl (1.20230212; RSA only,
# no ed25519 in this version).  No DNS: Mail::DKIM::DNS::query is replaced by a
# lookup in a key file ("<sel>._domainkey.<dom> <TXT>" lines; Mail::DKIM's
# t/FAKE_DNS.dat format, where the value NXDOMAIN means no record).
#   verify: mail_dkim_offline.pl verify MSG KEYS.txt   -> prints result + per-sig results
#   sign:   mail_dkim_offline.pl sign MSG SELECTOR DOMAIN KEY.pem [relaxed/relaxed] [from:to:subject]
use strict; use warnings;
use Mail::DKIM::Verifier; use Mail::DKIM::Signer; use Net::DNS::RR;
my ($mode, $file) = (shift, shift);
my $msg = do { open my $fh, "<:raw", $file or die "$file: $!"; local $/; <$fh> };
$msg =~ s/\015?\012/\015\012/g;               # Mail::DKIM wants CRLF
if ($mode eq 'verify') {
    my %db; open my $k, '<', shift or die $!;
    while (<$k>) { chomp; next if /^\s*[#;]/ || /^\s*$/; my ($n,$v) = split /\s+/, $_, 2; $db{lc $n} = $v; }
    no warnings 'redefine';
    *Mail::DKIM::DNS::query = sub {
        my ($dom, $type) = @_;
        my $v = $db{lc $dom};
        if (!defined $v || $v eq 'NXDOMAIN') { $@ = 'NXDOMAIN'; return (); }
        return (Net::DNS::RR->new(owner => $dom, type => 'TXT', txtdata => $v));
    };
    my $d = Mail::DKIM::Verifier->new; $d->PRINT($msg); $d->CLOSE;
    print "result: ", $d->result, " (", ($d->result_detail // ''), ")\n";
    my $i = 0; printf "sig[%d] %s d=%s s=%s %s\n", $i++, $_->result, $_->domain, $_->selector, ($_->result_detail // '') for $d->signatures;
    exit($d->result eq 'pass' ? 0 : 1);
} elsif ($mode eq 'sign') {
    my ($sel, $dom, $key, $canon, $hdrs) = @ARGV;
    my $s = Mail::DKIM::Signer->new(Algorithm => 'rsa-sha256', Method => $canon // 'relaxed/relaxed',
        Domain => $dom, Selector => $sel, KeyFile => $key, ($hdrs ? (Headers => $hdrs) : ()));
    $s->PRINT($msg); $s->CLOSE;
    print $s->signature->as_string, "\015\012", $msg;
} else { die "usage: $0 verify MSG KEYS | sign MSG SEL DOM KEY [canon] [headers]\n" }
