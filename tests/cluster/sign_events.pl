#!/usr/bin/perl
# tests/cluster/sign_events.pl SECRET PREFIX COUNT [FIRST]
# Print COUNT distinct meeting events (uuid PREFIX-i), each signed now the
# way Zoom signs (v0=HMAC-SHA256 of "v0:TS:BODY"), one per line as
# "TS<tab>SIGNATURE<tab>BODY", for tests/cluster/events.lua.  Signing in
# one process keeps the load generator's own CPU use out of the figures.
use strict;
use warnings;
use Digest::SHA qw(hmac_sha256_hex);

my ($secret, $prefix, $count, $first) = @ARGV;
die "usage: $0 SECRET PREFIX COUNT [FIRST]\n" unless defined $count;
$first //= 1;
my $ts = time;
for my $i ($first .. $first + $count - 1) {
    my $body = sprintf('{"event":"meeting.participant_joined","event_ts":%d,'
        . '"payload":{"object":{"id":"%d","uuid":"%s-%d","participant":'
        . '{"user_id":"u-%d","user_name":"Load Tester"}}}}',
        1700000000000 + $i, 900000 + $i % 97, $prefix, $i, $i);
    printf "%d\tv0=%s\t%s\n", $ts, hmac_sha256_hex("v0:$ts:$body", $secret),
        $body;
}
