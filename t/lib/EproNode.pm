package EproNode;

# npm packages for the suites that drive a JavaScript client, installed
# the way bench/bench.py installs @medplum/core: a pinned version, npm
# into a cache directory (EPRO_BENCH_CACHE, default ~/.cache/epro-bench,
# the bench's, so both share one copy), once, never into the tree.
#
# npm_package(NAME, VERSION, NODE_MAJOR) returns the directory to give
# node (its node_modules holds NAME), or skips the whole file with the
# reason when node or npm is missing, the node is older than NODE_MAJOR,
# or npm cannot install it (no registry).

use strict;
use warnings;

use File::Path ();
use File::Spec;
use Test::More ();

use Exporter 'import';
our @EXPORT = qw(npm_package node_bin);

sub which {
    my ($name) = @_;

    for my $dir (split /:/, $ENV{PATH} // '') {
        my $f = File::Spec->catfile($dir, $name);
        return $f if -x $f && !-d $f;
    }

    return undef;
}

sub node_bin { which('node') }

sub skip_all {
    my ($why) = @_;
    Test::More::plan(skip_all => $why);
    exit 0;
}

sub npm_package {
    my ($name, $version, $major) = @_;
    my ($node, $npm) = (which('node'), which('npm'));

    skip_all("node and npm are not installed (bash util/deps.sh, or "
             . "apt-get install nodejs npm)")
        if !$node || !$npm;

    my $have = `$node -p process.versions.node 2>/dev/null` // '';
    chomp $have;
    my ($have_major) = $have =~ /^(\d+)\./;

    skip_all("node $have is older than $name $version needs ($major)")
        if !defined $have_major || $have_major < $major;

    my $cache = $ENV{EPRO_BENCH_CACHE}
                // File::Spec->catdir($ENV{HOME} // '/tmp', '.cache',
                                      'epro-bench');
    (my $leaf = "$name-$version") =~ s{[/@]}{_}g;
    my $dest = File::Spec->catdir($cache, $leaf);
    my $pkg = File::Spec->catfile($dest, 'node_modules', split(m{/}, $name),
                                  'package.json');

    return $dest if -f $pkg;

    File::Path::make_path($dest);

    my $out = `timeout 600 $npm install --prefix '$dest' --no-save \\
               --no-audit --no-fund --loglevel=error '$name\@$version' 2>&1`;

    if ($? != 0 || !-f $pkg) {
        my @lines = grep { /\S/ } split /\n/, $out // '';
        skip_all("npm install $name\@$version failed: "
                 . ($lines[-1] // "exit status $?"));
    }

    return $dest;
}

1;
